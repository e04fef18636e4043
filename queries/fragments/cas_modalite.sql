{#- The number of the modality a row of GROUPING SETS is grouped by
    (`int_modalites`), or 0 (`ensemble`) for the keys alone. -#}
case {% for d in dimensions %}when grouping({{ d }}) = 0 then {{ d }} {% endfor %}else 0 end
