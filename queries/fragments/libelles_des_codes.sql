{#- The labels of the numbers a cube's rows (`comptes`) are grouped by:
    the period (`int_codes_periodes`) and the modality (`int_modalites`). -#}
inner join int_codes_periodes using (code_periode)
    inner join int_modalites
        on int_modalites.dimension = comptes.dimension
        and int_modalites.code = comptes.code_modalite
