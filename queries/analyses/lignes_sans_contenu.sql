-- The quarantined lines of extract $1 whose raw content is still missing.
select ligne from quarantaine where extrait = $1 and contenu is null
