{#- The name of the dimension a row of GROUPING SETS is grouped by, or
    'ensemble' for the keys alone. -#}
case {% for d in dimensions %}when grouping({{ d }}) = 0 then '{{ d }}' {% endfor %}else 'ensemble' end
