-- The identifiers of each staged person, as text, in the order of
-- `register::IDENTIFIERS`.
select
    cast(identifiant_spe as varchar) as identifiant_spe,
    cast(nir as varchar) as nir,
    cast(identifiant_national_pe as varchar) as identifiant_national_pe,
    cast(identifiant_regional_pe as varchar) as identifiant_regional_pe,
from stg_individus
