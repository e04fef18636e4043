-- The rows of a cube's query (a model of `queries/marts/`) at
-- one geographic level ($1): the crossing's rows, read from its schema.
select * from ({{select}}) where niveau_geo = $1
