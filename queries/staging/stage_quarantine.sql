-- Rows of chk_{{extrait}} that broke a set-level rule, as the quarantine
-- holds them ($1 the extract, $2 its file), with their raw content read
-- back from the file (`contenus`).
select
    cast($1 as varchar) as extrait,
    cast($2 as varchar) as fichier,
    rejets.ligne,
    rejets.regle,
    rejets.detail,
    contenus.contenu,
    cast(rejets.{{cle}} as varchar) as cle,
from chk_{{extrait}} as rejets
left join contenus using (ligne)
where rejets.regle is not null
