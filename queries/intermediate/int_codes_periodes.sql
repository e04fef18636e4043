-- The run's periods (`int_periodes`) with their numbers (`code_periode`,
-- see the macro): the cube models group by the numbers, and the marts read
-- the labels back from here.
select
    code_periode(periode, type_periode) as code_periode,
    periode,
    type_periode,
from int_periodes
