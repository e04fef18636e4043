{#- The GROUPING SETS of a cube: its keys alone, then its keys with each
    dimension. `keys` and `dimensions` come from Rust constants
    (`domain::cubes`), never from data. -#}
({{ keys | join(", ") }})
{%- for d in dimensions %},
        ({{ keys | join(", ") }}, {{ d }})
{%- endfor %}
