-- Warnings (the row is kept): missing Annex 1 "*" fields, unknown reason
-- codes and implausible ages at the cut-off, counted on accepted rows.
with

individus as (
    select * from stg_individus
),

evenements as (
    select * from stg_evenements
),

motifs as (
    select motif_code from ref_motifs
),

parametres as (
    select date_arrete from parametres
),

manquants as (
    unpivot (
        select
            count(*) filter (where lieu_naissance_commune is null) as lieu_naissance_commune,
            count(*) filter (where lieu_naissance_pays is null) as lieu_naissance_pays,
            count(*) filter (where nationalite is null) as nationalite,
            count(*) filter (where telephone is null) as telephone,
            count(*) filter (where email is null) as email,
            count(*) filter (where adresse is null) as adresse,
        from individus
    )
    on columns(*)
    into name colonne value nb
),

ages as (
    select count(*) as nb
    from individus, parametres
    where age_revolu(date_naissance, date_arrete) not between 15 and 80
),

motifs_inconnus as (
    select count(*) as nb
    from evenements
    where motif_code is not null
        and motif_code not in (select motif_code from motifs)
),

final as (
    select 'individus' as extrait, 'champ_recommande_manquant' as regle, colonne, nb from manquants
    union all
    select 'individus', 'age_improbable', 'date_naissance', nb from ages
    union all
    select 'evenements', 'motif_inconnu', 'motif_code', nb from motifs_inconnus
)

select * from final where nb > 0 order by all
