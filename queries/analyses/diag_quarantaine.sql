-- Evidence for the verdict on a damaged run (src/verdict.rs), per extract:
-- quarantined values written in scientific notation (`1.93803E+13`, as
-- Excel writes a long number), and implausible dates after the end ($2) or
-- before the start ($1) of the plausible window.
with

quarantaine as (
    select extrait, regle, detail from quarantaine
),

valeurs as (
    select
        extrait,
        regle,
        split_part(detail, ' : ', 1) as colonne,
        regexp_extract(detail, '«\s*([^»]*?)\s*»', 1) as valeur,
    from quarantaine
),

lues as (
    select
        *,
        regexp_full_match(valeur, '[+-]?[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+') as scientifique,
        cast(coalesce(
            try_strptime(left(valeur, 10), '%Y-%m-%d'),
            try_strptime(left(valeur, 10), '%d/%m/%Y')
        ) as date) as jour,
    from valeurs
),

final as (
    select
        extrait,
        count(*) filter (where scientifique) as nb_scientifique,
        min(colonne || ' = ' || valeur) filter (where scientifique) as exemple_scientifique,
        count(*) filter (where regle = 'date_improbable' and jour > cast($2 as date)) as nb_apres,
        count(*) filter (where regle = 'date_improbable' and jour < cast($1 as date)) as nb_avant,
    from lues
    group by extrait
)

select * from final order by extrait
