-- Every existing positioning in the periods it is counted in, once per
-- base of counting: the cohort (`cohorte`) by the day of positioning, the
-- entrants (`entrees`) by the day of entry. Once per kind of period
-- (four-month, month), restricted to the periods the run computes.
--
-- `plusieurs` says that the person has several positionings in the same
-- base and period. A person with a single one is that one row in every
-- cell of the period, so the cubes count distinct persons by counting rows
-- and need a distinct count only for the rows flagged here (a few per cent).
-- The periods and the dimensions are numbers (`int_codes_periodes`,
-- `int_modalites`): the cube models group by them, and the marts read the
-- labels back.
-- Geography is not exploded here: each geographic level is one slice of
-- the cube queries, which read `region`, `departement` or `zone_emploi`.
-- Only what the cubes read is kept: at 2 M persons this table has about
-- 10 M rows, and its width is the memory the cube queries do not have.
with

lignes as (
    select
        identifiant_spe,
        jour_positionnement,
        date_entree,
        region,
        departement,
        zone_emploi,
        {{dimensions_numerotees}},
        present_ico,
        retenu,
        ais_validee,
        entre,
        abandon,
        motif_abandon,
        est_eligible_pic,
        jours_entree,
        jours_ico,
    from int_lignes
    {{jointures_modalites}}
),

par_base as (
    select *, 'cohorte' as base, jour_positionnement as jour_base from lignes
    union all
    select *, 'entrees' as base, date_entree as jour_base from lignes where entre
),

par_periode as (
    select *, code_quadrimestre(jour_base) as code_periode from par_base
    union all
    select *, code_mois(jour_base) as code_periode from par_base
),

retenues as (
    select par_periode.*
    from par_periode
    semi join int_codes_periodes using (code_periode)
),

multiples as (
    select base, code_periode, identifiant_spe
    from retenues
    group by all
    having count(*) > 1
),

final as (
    select
        retenues.* exclude (jour_positionnement, date_entree, jour_base),
        multiples.identifiant_spe is not null as plusieurs,
    from retenues
    left join multiples using (base, code_periode, identifiant_spe)
)

select * from final
