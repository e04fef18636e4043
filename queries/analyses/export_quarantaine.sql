-- The quarantine of one extract, as `quarantaine/<extract>.parquet` holds it.
select fichier, ligne, regle, detail, contenu
from quarantaine
where extrait = '{{extrait}}'
order by ligne, regle
