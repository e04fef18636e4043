-- Every period of the run has the number the cube models give to its days
-- (`code_mois`, `code_quadrimestre` of its first day): else `int_eclate`
-- would drop its rows. Zero rows expected.
with

premiers_jours as (
    select
        code_periode,
        type_periode,
        case type_periode
            when 'mois' then cast(periode || '-01' as date)
            else make_date(
                cast(left(periode, 4) as integer),
                (cast(right(periode, 1) as integer) - 1) * 4 + 1,
                1
            )
        end as jour,
    from int_codes_periodes
),

final as (
    select * from premiers_jours
    where code_periode is distinct from case type_periode
        when 'mois' then code_mois(jour)
        else code_quadrimestre(jour)
    end
)

select * from final
