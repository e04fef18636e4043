-- The demo's fill for one region ($2) and period ($1): places and
-- entrants of its sessions.
select
    coalesce(sum(places_conventionnees), 0) as places,
    coalesce(sum(nb_entres), 0) as entres,
from sessions_remplissage
where periode = $1 and region = $2
