-- Every rule of the quarantine and of the warnings is one of the seed
-- `regles.csv` (the rule codes Rust and SQL share). Zero rows expected.
with

regles as (
    select distinct regle from quarantaine
    union
    select distinct regle from avertissements
),

connues as (
    select regle from ref_regles
),

final as (
    select regle from regles
    anti join connues using (regle)
)

select * from final
