-- The contact details of each person of an extract read back for a
-- breach listing, as text, in the order of `register::CONTACT`.
select
    cast(identifiant_spe as varchar) as identifiant_spe,
    cast(nir as varchar) as nir,
    cast(nom_naissance as varchar) as nom_naissance,
    cast(nom_usage as varchar) as nom_usage,
    cast(prenom as varchar) as prenom,
    cast(date_naissance as varchar) as date_naissance,
    cast(email as varchar) as email,
    cast(telephone as varchar) as telephone,
    cast(adresse as varchar) as adresse,
from raw_individus
