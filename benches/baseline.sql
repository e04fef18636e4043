-- The baseline of the `indicators` bench (issue 16): the six cubes of
-- SPEC §3 and §6 as an analyst would build them with DuckDB alone, from
-- clean extracts, with no validation and no quarantine. It shares no code
-- with ouistat's `queries/`; the bench compares its cubes with ouistat's
-- to the last value, then prints both times and their ratio.
--
-- Placeholders: {{extraits}} (folder of the four CSV extracts) and
-- {{date_arrete}} (the cut-off, YYYY-MM-DD). The block between the
-- `-- pour chaque niveau` and `-- fin` lines is run once per geographic
-- level, as an analyst's loop would: {{niveau_geo}} is the level's name
-- (france, region, departement, zone_emploi) and {{code_geo}} its column
-- (`null::varchar` for france). Within a level, each table is one
-- GROUPING SETS query, one set per dimension and one for `ensemble`.
-- Results: tables b_entonnoir, b_delais, b_pic, b_abandons, b_remplissage,
-- b_sessions_remplissage.

create or replace macro jour(t) as
    coalesce(try_strptime(t, '%d/%m/%Y'), try_strptime(t, '%Y-%m-%d'))::date;
create or replace macro horodatage(t) as
    coalesce(try_strptime(t, '%d/%m/%Y %H:%M:%S'), try_strptime(t, '%Y-%m-%d %H:%M:%S'));
create or replace macro quadri(d) as
    strftime(d, '%Y') || '-T' || ((month(d) - 1) // 4 + 1)::varchar;
create or replace macro extrait(f) as table
    select * from read_csv(f, delim = ';', header = true, all_varchar = true, quote = '"');

-- The extracts, typed.
create or replace temp table b_sessions as
select
    session_id,
    dispositif,
    financeur_code,
    coalesce(nullif(region, ''), 'inconnu') as region,
    coalesce(nullif(departement, ''), 'inconnu') as departement,
    coalesce(nullif(zone_emploi, ''), 'inconnu') as zone_emploi,
    jour(date_debut) as date_debut,
    places_conventionnees::integer as places_conventionnees,
from extrait('{{extraits}}/sessions.csv');

create or replace temp table b_individus as
select
    identifiant_spe,
    if(civilite = 'M', 'homme', 'femme') as sexe,
    jour(date_naissance) as naissance,
    if(niveau_formation in ('AFS', 'CP4', 'CFG', 'C3A', 'C12', 'NV5'), 'infra_bac', 'bac_et_plus') as niveau,
    if(eligible_pic = 'O', 'oui', 'non') as eligible_pic,
    case beneficiaire_rsa when 'O' then 'oui' when 'N' then 'non' else 'inconnu' end as beneficiaire_rsa,
    case travailleur_handicape when 'O' then 'oui' when 'N' then 'non' else 'inconnu' end as travailleur_handicape,
from extrait('{{extraits}}/individus.csv');

create or replace temp table b_positionnements as
select positionnement_id, identifiant_spe, session_id, prescripteur_type,
    horodatage(date_positionnement) as date_positionnement,
from extrait('{{extraits}}/positionnements.csv');

-- Each positioning's state at the cut-off, in one pass over the events:
-- per type, the latest event by date, then recording time, then status and
-- reason (a missing one sorting lowest).
create or replace temp table b_etat as
with evenements as (
    select
        positionnement_id, type, statut, motif_code,
        jour(date_evenement) as date_evenement,
        {'jour': jour(date_evenement), 'saisie': horodatage(enregistre_le),
            'statut': coalesce(statut, ''), 'motif': coalesce(motif_code, '')} as ordre,
    from extrait('{{extraits}}/evenements.csv')
    where horodatage(enregistre_le) < date '{{date_arrete}}' + 1
)
select
    positionnement_id,
    arg_max(statut, ordre) filter (type = 'ICO') as statut_ico,
    max(date_evenement) filter (type = 'ICO') as date_ico,
    arg_max(statut, ordre) filter (type = 'AIS') as statut_ais,
    max(date_evenement) filter (type = 'ENTREE') as date_entree,
    list({'jour': date_evenement, 'ordre': ordre, 'motif': motif_code}) filter (type = 'ABANDON') as abandons,
from evenements
group by positionnement_id;

-- One row per positioning existing at the cut-off, with its dimensions.
create or replace temp table b_lignes as
with etats as (
    select
        * exclude (abandons),
        list_filter(abandons, lambda a: a.jour >= date_entree) as apres_entree,
    from b_etat
)
select
    p.positionnement_id,
    p.identifiant_spe,
    p.session_id,
    p.date_positionnement::date as jour,
    s.region, s.departement, s.zone_emploi,
    s.dispositif, s.financeur_code, p.prescripteur_type, i.sexe,
    case
        when age < 26 then '<26'
        when age < 50 then '26-49'
        else '50+'
    end as tranche_age,
    i.niveau, i.eligible_pic, i.beneficiaire_rsa, i.travailleur_handicape,
    coalesce(e.statut_ico in ('PRESENT_RETENU', 'PRESENT_NON_RETENU'), false) as present_ico,
    coalesce(e.statut_ico = 'PRESENT_RETENU', false) as retenu,
    coalesce(e.statut_ais = 'VALIDEE', false) as ais_validee,
    e.date_entree is not null as entre,
    e.date_entree,
    coalesce(len(e.apres_entree) > 0, false) as abandon,
    list_sort(e.apres_entree, 'DESC')[1].motif as motif_abandon,
    e.date_entree - p.date_positionnement::date as jours_entree,
    if(e.date_entree is not null, e.date_ico - p.date_positionnement::date, null) as jours_ico,
from b_positionnements p
join b_sessions s using (session_id)
join b_individus i using (identifiant_spe)
left join etats e using (positionnement_id),
-- Completed years: someone born on 29 February is a year older on 1 March
-- in a common year.
lateral (
    select year(p.date_positionnement) - year(i.naissance)
        - if(strftime(p.date_positionnement, '%m%d') < strftime(i.naissance, '%m%d'), 1, 0) as age
)
where p.date_positionnement < date '{{date_arrete}}' + 1;

-- Every four-month period and month from the first positioning or session
-- to the cut-off.
create or replace temp table b_periodes as
with mois as (
    select unnest(range(
        date_trunc('month', least(
            (select min(date_positionnement)::date from b_positionnements),
            (select min(date_debut) from b_sessions))),
        date '{{date_arrete}}' + 1,
        interval 1 month))::date as m
)
select distinct strftime(m, '%Y-%m') as periode, 'mois' as type_periode from mois
union all
select distinct quadri(m), 'quadrimestre' from mois;

-- The positionings counted in two ways: the cohort by the day of
-- positioning, the entrants by the day of entry; each once per kind of
-- period.
create or replace temp table b_datees as
with datees as (
    select *, 'cohorte' as base, jour as jour_base from b_lignes
    union all
    select *, 'entrees', date_entree from b_lignes where entre
),
par_periode as (
    select *, quadri(jour_base) as periode, 'quadrimestre' as type_periode from datees
    union all
    select *, strftime(jour_base, '%Y-%m'), 'mois' from datees
)
select
    *,
    -- A person with a single row in a base and period is that one row in
    -- every cell of the period: counting rows counts them.
    count(*) over (partition by base, type_periode, periode, identifiant_spe) > 1 as plusieurs,
from par_periode
semi join b_periodes using (periode, type_periode);

create or replace temp table b_cellules (
    periode varchar, type_periode varchar, niveau_geo varchar, code_geo varchar,
    dimension varchar, modalite varchar,
    nb_positionnements bigint, nb_presents_ico bigint, nb_retenus bigint,
    nb_ais_validees bigint, nb_entrees bigint, nb_abandons bigint,
    mediane_jours_entree double, p75_jours_entree double,
    mediane_jours_ico double, p75_jours_ico double
);
create or replace temp table b_personnes (
    base varchar, periode varchar, type_periode varchar, niveau_geo varchar, code_geo varchar,
    dimension varchar, modalite varchar,
    nb_personnes bigint, nb_personnes_entrees bigint, nb_eligibles_pic bigint
);
create or replace temp table b_motifs (
    periode varchar, type_periode varchar, niveau_geo varchar, code_geo varchar,
    dimension varchar, modalite varchar, motif_code varchar, nb_abandons bigint
);

-- pour chaque niveau
-- One grouping-sets query per table and geographic level, every dimension
-- (and `ensemble`) a grouping set of its own. {{code_geo}} is the level's
-- column (a null text for france).

-- The cohort's counts and delays.
insert into b_cellules
select
    periode, type_periode, '{{niveau_geo}}', code_geo,
    case
        when grouping(dispositif) = 0 then 'dispositif'
        when grouping(financeur_code) = 0 then 'financeur_code'
        when grouping(prescripteur_type) = 0 then 'prescripteur_type'
        when grouping(sexe) = 0 then 'sexe'
        when grouping(tranche_age) = 0 then 'tranche_age'
        when grouping(niveau) = 0 then 'niveau'
        when grouping(eligible_pic) = 0 then 'eligible_pic'
        when grouping(beneficiaire_rsa) = 0 then 'beneficiaire_rsa'
        when grouping(travailleur_handicape) = 0 then 'travailleur_handicape'
        else 'ensemble'
    end,
    coalesce(dispositif, financeur_code, prescripteur_type, sexe, tranche_age, niveau, eligible_pic, beneficiaire_rsa, travailleur_handicape, 'ensemble'),
    count(*),
    count(*) filter (present_ico),
    count(*) filter (retenu),
    count(*) filter (ais_validee),
    count(*) filter (entre),
    count(*) filter (abandon),
    quantile_cont(jours_entree, 0.5),
    quantile_cont(jours_entree, 0.75),
    quantile_cont(jours_ico, 0.5),
    quantile_cont(jours_ico, 0.75),
from (select *, {{code_geo}} as code_geo from b_datees where base = 'cohorte')
group by grouping sets (
    (periode, type_periode, code_geo),
    (periode, type_periode, code_geo, dispositif),
    (periode, type_periode, code_geo, financeur_code),
    (periode, type_periode, code_geo, prescripteur_type),
    (periode, type_periode, code_geo, sexe),
    (periode, type_periode, code_geo, tranche_age),
    (periode, type_periode, code_geo, niveau),
    (periode, type_periode, code_geo, eligible_pic),
    (periode, type_periode, code_geo, beneficiaire_rsa),
    (periode, type_periode, code_geo, travailleur_handicape)
);

-- Distinct persons, both bases at once: the persons with a single row in
-- the period counted as rows, the others in two steps (one row per cell
-- and person, then a count per cell).
insert into b_personnes
with lignes as (
    select *, {{code_geo}} as code_geo from b_datees
),
seules as (
    select
        base, periode, type_periode, code_geo,
        case
            when grouping(dispositif) = 0 then 'dispositif'
            when grouping(financeur_code) = 0 then 'financeur_code'
            when grouping(prescripteur_type) = 0 then 'prescripteur_type'
            when grouping(sexe) = 0 then 'sexe'
            when grouping(tranche_age) = 0 then 'tranche_age'
            when grouping(niveau) = 0 then 'niveau'
            when grouping(eligible_pic) = 0 then 'eligible_pic'
            when grouping(beneficiaire_rsa) = 0 then 'beneficiaire_rsa'
            when grouping(travailleur_handicape) = 0 then 'travailleur_handicape'
            else 'ensemble'
        end as dimension,
        coalesce(dispositif, financeur_code, prescripteur_type, sexe, tranche_age, niveau, eligible_pic, beneficiaire_rsa, travailleur_handicape, 'ensemble') as modalite,
        count(*) as nb_personnes,
        count(*) filter (entre) as nb_personnes_entrees,
        count(*) filter (eligible_pic = 'oui') as nb_eligibles_pic,
    from lignes
    where not plusieurs
    group by grouping sets (
        (base, periode, type_periode, code_geo),
        (base, periode, type_periode, code_geo, dispositif),
        (base, periode, type_periode, code_geo, financeur_code),
        (base, periode, type_periode, code_geo, prescripteur_type),
        (base, periode, type_periode, code_geo, sexe),
        (base, periode, type_periode, code_geo, tranche_age),
        (base, periode, type_periode, code_geo, niveau),
        (base, periode, type_periode, code_geo, eligible_pic),
        (base, periode, type_periode, code_geo, beneficiaire_rsa),
        (base, periode, type_periode, code_geo, travailleur_handicape)
    )
),
une_par_personne as (
    select
        base, periode, type_periode, code_geo,
        case
            when grouping(dispositif) = 0 then 'dispositif'
            when grouping(financeur_code) = 0 then 'financeur_code'
            when grouping(prescripteur_type) = 0 then 'prescripteur_type'
            when grouping(sexe) = 0 then 'sexe'
            when grouping(tranche_age) = 0 then 'tranche_age'
            when grouping(niveau) = 0 then 'niveau'
            when grouping(eligible_pic) = 0 then 'eligible_pic'
            when grouping(beneficiaire_rsa) = 0 then 'beneficiaire_rsa'
            when grouping(travailleur_handicape) = 0 then 'travailleur_handicape'
            else 'ensemble'
        end as dimension,
        coalesce(dispositif, financeur_code, prescripteur_type, sexe, tranche_age, niveau, eligible_pic, beneficiaire_rsa, travailleur_handicape, 'ensemble') as modalite,
        bool_or(entre) as entre,
        bool_or(eligible_pic = 'oui') as eligible,
    from lignes
    where plusieurs
    group by grouping sets (
        (base, periode, type_periode, code_geo, identifiant_spe),
        (base, periode, type_periode, code_geo, identifiant_spe, dispositif),
        (base, periode, type_periode, code_geo, identifiant_spe, financeur_code),
        (base, periode, type_periode, code_geo, identifiant_spe, prescripteur_type),
        (base, periode, type_periode, code_geo, identifiant_spe, sexe),
        (base, periode, type_periode, code_geo, identifiant_spe, tranche_age),
        (base, periode, type_periode, code_geo, identifiant_spe, niveau),
        (base, periode, type_periode, code_geo, identifiant_spe, eligible_pic),
        (base, periode, type_periode, code_geo, identifiant_spe, beneficiaire_rsa),
        (base, periode, type_periode, code_geo, identifiant_spe, travailleur_handicape)
    )
),
plusieurs as (
    select
        base, periode, type_periode, code_geo, dimension, modalite,
        count(*) as nb_personnes,
        count(*) filter (entre) as nb_personnes_entrees,
        count(*) filter (eligible) as nb_eligibles_pic,
    from une_par_personne
    group by all
),
final as (
    select * from seules
    union all
    select * from plusieurs
)
select
    base, periode, type_periode, '{{niveau_geo}}', code_geo, dimension, modalite,
    sum(nb_personnes), sum(nb_personnes_entrees), sum(nb_eligibles_pic),
from final
group by base, periode, type_periode, code_geo, dimension, modalite;

-- Abandons after entry, by the reason of the latest.
insert into b_motifs
select
    periode, type_periode, '{{niveau_geo}}', code_geo,
    case
        when grouping(dispositif) = 0 then 'dispositif'
        when grouping(financeur_code) = 0 then 'financeur_code'
        when grouping(prescripteur_type) = 0 then 'prescripteur_type'
        when grouping(sexe) = 0 then 'sexe'
        when grouping(tranche_age) = 0 then 'tranche_age'
        when grouping(niveau) = 0 then 'niveau'
        when grouping(eligible_pic) = 0 then 'eligible_pic'
        when grouping(beneficiaire_rsa) = 0 then 'beneficiaire_rsa'
        when grouping(travailleur_handicape) = 0 then 'travailleur_handicape'
        else 'ensemble'
    end,
    coalesce(dispositif, financeur_code, prescripteur_type, sexe, tranche_age, niveau, eligible_pic, beneficiaire_rsa, travailleur_handicape, 'ensemble'),
    motif_code,
    count(*),
from (
    select *, {{code_geo}} as code_geo, coalesce(motif_abandon, 'inconnu') as motif_code
    from b_datees
    where base = 'cohorte' and abandon
)
group by grouping sets (
    (periode, type_periode, code_geo, motif_code),
    (periode, type_periode, code_geo, motif_code, dispositif),
    (periode, type_periode, code_geo, motif_code, financeur_code),
    (periode, type_periode, code_geo, motif_code, prescripteur_type),
    (periode, type_periode, code_geo, motif_code, sexe),
    (periode, type_periode, code_geo, motif_code, tranche_age),
    (periode, type_periode, code_geo, motif_code, niveau),
    (periode, type_periode, code_geo, motif_code, eligible_pic),
    (periode, type_periode, code_geo, motif_code, beneficiaire_rsa),
    (periode, type_periode, code_geo, motif_code, travailleur_handicape)
);
-- fin

-- Sessions starting in a four-month period, with their distinct persons
-- over every positioning existing at the cut-off.
create or replace temp table b_sessions_remplissage as
with comptes as (
    select
        session_id,
        count(distinct identifiant_spe) as nb_positionnes,
        count(distinct identifiant_spe) filter (retenu) as nb_retenus,
        count(distinct identifiant_spe) filter (entre) as nb_entres,
    from b_lignes
    group by session_id
)
select
    s.session_id,
    quadri(s.date_debut) as periode,
    s.dispositif,
    s.financeur_code::integer as financeur_code,
    nullif(s.region, 'inconnu') as region,
    nullif(s.departement, 'inconnu') as departement,
    nullif(s.zone_emploi, 'inconnu') as zone_emploi,
    s.date_debut,
    s.places_conventionnees,
    coalesce(c.nb_positionnes, 0) as nb_positionnes,
    coalesce(c.nb_retenus, 0) as nb_retenus,
    coalesce(c.nb_entres, 0) as nb_entres,
    coalesce(c.nb_entres, 0) / s.places_conventionnees as taux_remplissage,
    coalesce(c.nb_entres, 0) > s.places_conventionnees as sur_effectif,
from b_sessions s
left join comptes c using (session_id)
where quadri(s.date_debut) in (select periode from b_periodes where type_periode = 'quadrimestre');

create or replace temp table b_remplissage as
with geo as (
    select r.*, g.niveau_geo,
        case g.niveau_geo when 'region' then coalesce(region, 'inconnu')
            when 'departement' then coalesce(departement, 'inconnu')
            when 'zone_emploi' then coalesce(zone_emploi, 'inconnu') end as code_geo,
    from b_sessions_remplissage r
    cross join (values ('france'), ('region'), ('departement'), ('zone_emploi')) g(niveau_geo)
),
cellules as (
    select
        periode, 'quadrimestre' as type_periode, niveau_geo, code_geo,
        case when grouping(dispositif) = 0 then 'dispositif'
            when grouping(financeur_code) = 0 then 'financeur_code' else 'ensemble' end as dimension,
        coalesce(dispositif, financeur_code::varchar, 'ensemble') as modalite,
        count(*) as nb_sessions,
        sum(places_conventionnees)::bigint as places_conventionnees,
        sum(nb_entres)::bigint as nb_entres,
        sum(nb_entres) / sum(places_conventionnees) as taux_remplissage,
    from geo
    group by grouping sets (
        (periode, niveau_geo, code_geo),
        (periode, niveau_geo, code_geo, dispositif),
        (periode, niveau_geo, code_geo, financeur_code)
    )
)
select * from cellules
union all
select periode, type_periode, 'france', null, 'ensemble', 'ensemble', 0, 0, 0, null
from b_periodes
where type_periode = 'quadrimestre'
    and periode not in (select periode from cellules);

-- The cubes.
create or replace temp table b_entonnoir as
with cellules as (
    select
        c.* exclude (mediane_jours_entree, p75_jours_entree, mediane_jours_ico, p75_jours_ico),
        nb_entrees / nullif(nb_positionnements, 0) as taux_entree,
        p.nb_personnes as nb_personnes_positionnees,
        p.nb_personnes_entrees,
    from b_cellules c
    join b_personnes p
        on p.base = 'cohorte' and (c.periode, c.type_periode, c.niveau_geo, c.dimension, c.modalite)
            = (p.periode, p.type_periode, p.niveau_geo, p.dimension, p.modalite)
        and c.code_geo is not distinct from p.code_geo
)
select * from cellules
union all
select periode, type_periode, 'france', null, 'ensemble', 'ensemble', 0, 0, 0, 0, 0, 0, null, 0, 0
from b_periodes
anti join cellules using (periode, type_periode);

create or replace temp table b_delais as
select
    periode, type_periode, niveau_geo, code_geo, dimension, modalite, nb_entrees,
    mediane_jours_entree, p75_jours_entree, mediane_jours_ico, p75_jours_ico,
from b_cellules
where nb_entrees > 0 or (niveau_geo = 'france' and dimension = 'ensemble')
union all
select periode, type_periode, 'france', null, 'ensemble', 'ensemble', 0, null, null, null, null
from b_periodes
anti join b_cellules using (periode, type_periode);

create or replace temp table b_pic as
with positionnes as (select * from b_personnes where base = 'cohorte'),
entres as (select * from b_personnes where base = 'entrees'),
joints as (
    select
        coalesce(p.periode, e.periode) as periode,
        coalesce(p.type_periode, e.type_periode) as type_periode,
        coalesce(p.niveau_geo, e.niveau_geo) as niveau_geo,
        coalesce(p.code_geo, e.code_geo) as code_geo,
        coalesce(p.dimension, e.dimension) as dimension,
        coalesce(p.modalite, e.modalite) as modalite,
        coalesce(p.nb_personnes, 0) as nb_personnes_positionnees,
        coalesce(p.nb_eligibles_pic, 0) as nb_eligibles_pic_positionnes,
        coalesce(p.nb_eligibles_pic, 0) / nullif(coalesce(p.nb_personnes, 0), 0) as part_eligibles_pic_positionnes,
        coalesce(e.nb_personnes, 0) as nb_personnes_entrees,
        coalesce(e.nb_eligibles_pic, 0) as nb_eligibles_pic_entres,
        coalesce(e.nb_eligibles_pic, 0) / nullif(coalesce(e.nb_personnes, 0), 0) as part_eligibles_pic_entres,
    from positionnes p
    full join entres e
        on (p.periode, p.type_periode, p.niveau_geo, p.dimension, p.modalite)
            = (e.periode, e.type_periode, e.niveau_geo, e.dimension, e.modalite)
        and p.code_geo is not distinct from e.code_geo
)
select * from joints
union all
select periode, type_periode, 'france', null, 'ensemble', 'ensemble', 0, 0, null, 0, 0, null
from b_periodes
anti join joints using (periode, type_periode);

create or replace temp table b_abandons as
with totaux as (
    select periode, type_periode, niveau_geo, code_geo, dimension, modalite, nb_entrees, nb_abandons,
    from b_entonnoir
    where nb_entrees > 0 or (niveau_geo = 'france' and dimension = 'ensemble')
)
select t.*, 'ensemble' as motif_code,
    nb_abandons / nullif(nb_entrees, 0) as taux_abandon,
    nb_abandons / nullif(nb_abandons, 0) as part_abandons,
from totaux t
union all
select
    t.periode, t.type_periode, t.niveau_geo, t.code_geo, t.dimension, t.modalite,
    t.nb_entrees, m.nb_abandons, m.motif_code,
    m.nb_abandons / nullif(t.nb_entrees, 0),
    m.nb_abandons / nullif(t.nb_abandons, 0),
from b_motifs m
join totaux t
    on (m.periode, m.type_periode, m.niveau_geo, m.dimension, m.modalite)
        = (t.periode, t.type_periode, t.niveau_geo, t.dimension, t.modalite)
    and m.code_geo is not distinct from t.code_geo;
