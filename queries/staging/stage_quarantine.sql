-- Rows of chk_{{extrait}} that broke a set-level rule go to the quarantine;
-- their raw content is filled in afterwards from the file.
insert into quarantaine
select
    '{{extrait}}' as extrait,
    {{fichier}} as fichier,
    ligne,
    regle,
    detail,
    null as contenu,
    cast({{cle}} as varchar) as cle,
from chk_{{extrait}}
where regle is not null
