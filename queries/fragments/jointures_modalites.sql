{#- One join of `int_modalites` per dimension (`num_<dimension>`), on the
    row's modality (a missing one too). -#}
{% for d in dimensions %}left join int_modalites as num_{{ d }}
        on num_{{ d }}.dimension = '{{ d }}' and num_{{ d }}.modalite is not distinct from int_lignes.{{ d }}{% if not loop.last %}
    {% endif %}{% endfor %}
