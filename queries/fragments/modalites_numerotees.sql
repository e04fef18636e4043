{#- For each dimension, its modalities in `int_lignes` numbered from 1 in
    their sort order (a missing one too): one `union all` branch each. -#}
{%- for d in dimensions %}
union all
select '{{ d }}', {{ d }}, cast(row_number() over (order by {{ d }}) as integer)
from (select distinct {{ d }} from int_lignes)
{%- endfor %}
