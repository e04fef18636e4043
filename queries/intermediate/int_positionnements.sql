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

-- The latest event of a type is the greatest (date_evenement,
-- enregistre_le, statut, motif_code), an absent statut or motif lowest
-- (as `desc nulls last` orders them); '' stands for absent, a value
-- validation never keeps. A grouped max, not a ranking window: one pass.
derniers as (
    select
        positionnement_id,
        max({'date': date_evenement, 'enregistre': enregistre_le, 'statut': coalesce(statut, ''), 'motif': coalesce(motif_code, '')})
            filter (where type = 'ICO') as ico,
        max({'date': date_evenement, 'enregistre': enregistre_le, 'statut': coalesce(statut, ''), 'motif': coalesce(motif_code, '')})
            filter (where type = 'AIS') as ais,
        max(date_evenement) filter (where type = 'ENTREE') as date_entree,
    from evenements
    where type in ('ICO', 'AIS', 'ENTREE')
    group by positionnement_id
),

etat as (
    select
        positionnement_id,
        nullif(struct_extract(ico, 'statut'), '') as statut_ico,
        struct_extract(ico, 'date') as date_ico,
        nullif(struct_extract(ais, 'statut'), '') as statut_ais,
        date_entree,
    from derniers
),

-- The latest abandon on or after the entry, by the same order.
abandons as (
    select
        evenements.positionnement_id,
        nullif(struct_extract(
            max({'date': date_evenement, 'enregistre': enregistre_le, 'statut': coalesce(statut, ''), 'motif': coalesce(motif_code, '')}),
            'motif'
        ), '') as motif_code,
    from evenements
    inner join etat using (positionnement_id)
    where evenements.type = 'ABANDON'
        and evenements.date_evenement >= etat.date_entree
    group by evenements.positionnement_id
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
    left join abandons using (positionnement_id)
)

select * from final
