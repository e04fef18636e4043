-- Every geographic level of the cubes is one of the seed `niveaux_geo.csv`
-- (`agg_remplissage` lists them in SQL; the other cubes are built from the
-- seed). Zero rows expected.
with

niveaux as (
    select distinct niveau_geo from agg_cohorte
    union
    select distinct niveau_geo from agg_remplissage
),

connus as (
    select niveau_geo from ref_niveaux_geo
),

final as (
    select niveau_geo from niveaux
    anti join connus using (niveau_geo)
)

select * from final
