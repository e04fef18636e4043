-- Set-level rules on individus: the first occurrence of an identifiant_spe is
-- kept, later ones are duplicates.
create or replace table chk_individus as
with

raw_rows as (
    select * from raw_individus
),

ranked as (
    select
        *,
        row_number() over (partition by identifiant_spe order by ligne) as rang,
    from raw_rows
),

final as (
    select
        * exclude (rang),
        case when rang > 1 then 'doublon' end as regle,
        case when rang > 1 then 'identifiant_spe déjà présent à une ligne précédente' end as detail,
    from ranked
)

select * from final
