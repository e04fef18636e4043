-- The persons withheld from a delivery and their request, for the register.
select cast(identifiant_spe as varchar) as identifiant_spe, cast(demande as varchar) as demande
from dlv_retenus
