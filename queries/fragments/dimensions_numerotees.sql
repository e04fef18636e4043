{#- Each dimension of a row of `int_lignes` as its number in
    `int_modalites`, read from the joins of `jointures_modalites`. -#}
{% for d in dimensions %}num_{{ d }}.code as {{ d }}{% if not loop.last %},
        {% endif %}{% endfor %}
