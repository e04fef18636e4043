-- Rows of chk_{{extrait}} that broke a set-level rule, appended to the
-- quarantine ($1 the extract, $2 its file); their raw content is filled
-- in afterwards from the file.
select
    cast($1 as varchar) as extrait,
    cast($2 as varchar) as fichier,
    ligne,
    regle,
    detail,
    null as contenu,
    cast({{cle}} as varchar) as cle,
from chk_{{extrait}}
where regle is not null
