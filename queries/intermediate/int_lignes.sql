-- One row per existing positioning with every dimension of SPEC §3 resolved
-- to its modality (empty geography is `inconnu`).
with

positionnements as (
    select * from int_positionnements
),

sessions as (
    select * from stg_sessions
),

individus as (
    select * from stg_individus
),

final as (
    select
        positionnements.*,
        coalesce(sessions.region, 'inconnu') as region,
        coalesce(sessions.departement, 'inconnu') as departement,
        coalesce(sessions.zone_emploi, 'inconnu') as zone_emploi,
        sessions.dispositif,
        cast(sessions.financeur_code as varchar) as financeur_code,
        case individus.civilite when 'M' then 'homme' else 'femme' end as sexe,
        case
            when age_revolu(individus.date_naissance, positionnements.jour_positionnement) < 26 then '<26'
            when age_revolu(individus.date_naissance, positionnements.jour_positionnement) < 50 then '26-49'
            else '50+'
        end as tranche_age,
        case
            when individus.niveau_formation in (select niveau_formation from ref_niveaux_infra_bac) then 'infra_bac'
            else 'bac_et_plus'
        end as niveau,
        coalesce(individus.eligible_pic, false) as est_eligible_pic,
        case when individus.eligible_pic then 'oui' else 'non' end as eligible_pic,
        case individus.beneficiaire_rsa when true then 'oui' when false then 'non' else 'inconnu' end as beneficiaire_rsa,
        case individus.travailleur_handicape when true then 'oui' when false then 'non' else 'inconnu' end as travailleur_handicape,
        case when positionnements.entre then positionnements.date_entree - positionnements.jour_positionnement end as jours_entree,
        case when positionnements.entre then positionnements.date_ico - positionnements.jour_positionnement end as jours_ico,
    from positionnements
    inner join sessions using (session_id)
    inner join individus using (identifiant_spe)
)

select * from final
