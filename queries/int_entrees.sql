-- The entry cohorts: every entered positioning once per kind of period (by
-- its entry date) and per geographic level.
create or replace view int_entrees as
with

lignes as (
    select * from int_lignes where entre
),

periodes_demandees as (
    select periode, type_periode from int_periodes
),

par_periode as (
    select lignes.*, periode_quadrimestre(date_entree) as periode, 'quadrimestre' as type_periode
    from lignes
    union all
    select lignes.*, strftime(date_entree, '%Y-%m') as periode, 'mois' as type_periode
    from lignes
),

retenues as (
    select par_periode.*
    from par_periode
    semi join periodes_demandees using (periode, type_periode)
),

final as (
    select *, 'france' as niveau_geo, cast(null as varchar) as code_geo from retenues
    union all
    select *, 'region' as niveau_geo, region as code_geo from retenues
    union all
    select *, 'departement' as niveau_geo, departement as code_geo from retenues
    union all
    select *, 'zone_emploi' as niveau_geo, zone_emploi as code_geo from retenues
)

select * from final
