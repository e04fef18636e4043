-- The quarantine of one extract ($1), as `quarantaine/<extract>.parquet` holds it.
select fichier, ligne, regle, detail, contenu
from quarantaine
where extrait = $1
order by ligne, regle
