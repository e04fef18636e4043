-- The state of every positioning that exists at the cut-off (SPEC §3):
-- for each event type the latest event wins, by date_evenement, then
-- enregistre_le, then statut and motif_code descending.
with

parametres as (
    select date_arrete + interval 1 day as fin_arrete from parametres
),

positionnements as (
    select stg_positionnements.*
    from stg_positionnements, parametres
    where date_positionnement < fin_arrete
),

evenements as (
    select stg_evenements.*
    from stg_evenements, parametres
    where enregistre_le < fin_arrete
),

ordonnes as (
    select
        *,
        row_number() over (
            partition by positionnement_id, type
            order by date_evenement desc, enregistre_le desc, statut desc nulls last, motif_code desc nulls last
        ) as rang,
    from evenements
    where type in ('ICO', 'AIS', 'ENTREE')
),

etat as (
    select
        positionnement_id,
        max(statut) filter (where type = 'ICO') as statut_ico,
        max(date_evenement) filter (where type = 'ICO') as date_ico,
        max(statut) filter (where type = 'AIS') as statut_ais,
        max(date_evenement) filter (where type = 'ENTREE') as date_entree,
    from ordonnes
    where rang = 1
    group by positionnement_id
),

abandons as (
    select
        evenements.positionnement_id,
        evenements.motif_code,
        row_number() over (
            partition by evenements.positionnement_id
            order by date_evenement desc, enregistre_le desc, statut desc nulls last, motif_code desc nulls last
        ) as rang,
    from evenements
    inner join etat using (positionnement_id)
    where evenements.type = 'ABANDON'
        and evenements.date_evenement >= etat.date_entree
),

final as (
    select
        positionnements.positionnement_id,
        positionnements.identifiant_spe,
        positionnements.session_id,
        positionnements.prescripteur_type,
        cast(positionnements.date_positionnement as date) as jour_positionnement,
        coalesce(etat.statut_ico in ('PRESENT_RETENU', 'PRESENT_NON_RETENU'), false) as present_ico,
        coalesce(etat.statut_ico = 'PRESENT_RETENU', false) as retenu,
        coalesce(etat.statut_ais = 'VALIDEE', false) as ais_validee,
        etat.date_entree is not null as entre,
        etat.date_entree,
        etat.date_ico,
        abandons.positionnement_id is not null as abandon,
        abandons.motif_code as motif_abandon,
    from positionnements
    left join etat using (positionnement_id)
    left join abandons
        on abandons.positionnement_id = positionnements.positionnement_id
        and abandons.rang = 1
)

select * from final
