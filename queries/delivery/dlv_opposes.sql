-- The staged persons the opposition list names, per class of recipient,
-- with their earliest request: a line matches a person by the identifier
-- of its kind (`register::IDENTIFIERS`), trimmed and upper-cased as
-- pseudonyms are.
with

liste as (
    select genre, identifiant, classe, cast(demande as date) as demande
    from dlv_liste_opposition
),

individus as (
    select identifiant_spe, nir, identifiant_national_pe, identifiant_regional_pe
    from stg_individus
),

final as (
    select individus.identifiant_spe, liste.classe, min(liste.demande) as demande
    from liste
    inner join individus
        on (liste.genre = 'identifiant_spe'
            and upper(trim(cast(individus.identifiant_spe as varchar))) = upper(trim(liste.identifiant)))
        or (liste.genre = 'nir'
            and upper(trim(cast(individus.nir as varchar))) = upper(trim(liste.identifiant)))
        or (liste.genre = 'identifiant_national_pe'
            and upper(trim(cast(individus.identifiant_national_pe as varchar))) = upper(trim(liste.identifiant)))
        or (liste.genre = 'identifiant_regional_pe'
            and upper(trim(cast(individus.identifiant_regional_pe as varchar))) = upper(trim(liste.identifiant)))
    group by all
)

select * from final
