-- A cohort exploded over periods and places: every row of int_lignes that
-- matches `{{filtre}}`, once per kind of period (four-month and month, by
-- `{{jour}}`) and per geographic level (france, region, departement,
-- zone_emploi of the session). `int_cohorte` dates positionings by their
-- day; `int_entrees` dates entered positionings by their entry.
-- A view, not a table: a sorted copy of 24 M rows at 2 M persons does not
-- fit the memory cap, and each slice's filter is pushed into the view.
create or replace view {{vue}} as
with

lignes as (
    select * from int_lignes where {{filtre}}
),

periodes_demandees as (
    select periode, type_periode from int_periodes
),

par_periode as (
    select lignes.*, periode_quadrimestre({{jour}}) as periode, 'quadrimestre' as type_periode
    from lignes
    union all
    select lignes.*, strftime({{jour}}, '%Y-%m') as periode, 'mois' as type_periode
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
