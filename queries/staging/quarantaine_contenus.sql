-- Fills in the raw content of the quarantined lines of extract $1.
update quarantaine
set contenu = contenus.contenu
from contenus
where quarantaine.extrait = $1
    and quarantaine.ligne = contenus.ligne
    and quarantaine.contenu is null
