-- The positionings (existing at the cut-off) of a partner: those of the
-- national perimeter (`dlv_perimetre_tous`) of its public (a boolean
-- column, one of `deliver::PUBLICS`) in the sessions of its département ($1).
select perimetre.*
from dlv_perimetre_tous as perimetre
inner join stg_sessions as sessions using (session_id)
inner join stg_individus as individus using (identifiant_spe)
where sessions.departement = $1 and coalesce(individus.{{public}}, false)
