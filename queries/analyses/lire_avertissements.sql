-- The warnings, as `run.json` records them.
select extrait, regle, colonne, nb from avertissements order by all
