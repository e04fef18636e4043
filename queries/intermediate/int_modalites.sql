-- Each modality of each dimension of the cubes (SPEC §3) as a number, and
-- `ensemble` as 0. The exploded rows carry these numbers instead of the
-- text of `int_lignes`, and their periods as numbers (`code_mois`,
-- `code_quadrimestre`): the cube models group by numbers, several times
-- cheaper than text at 2 M persons (docs/performance.md); the marts read
-- the modalities back from here.
select 'ensemble' as dimension, 'ensemble' as modalite, 0 as code
{{modalites_numerotees}}
