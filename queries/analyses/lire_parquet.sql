-- A Parquet extract ($1, its path), row by row in the file's order, each
-- column read as the validator takes it (`ingest::parquet_file`):
-- `colonnes` are (name quoted, reading) pairs, the reading `booleen`
-- (O/N), `texte` (cast to text) or `temps` (times as they are, put in
-- French time by Rust).
select file_row_number
{%- for nom, lecture in colonnes %},
    {% if lecture == "booleen" %}case when {{ nom }} then 'O' when not {{ nom }} then 'N' end
    {%- elif lecture == "texte" %}cast({{ nom }} as varchar)
    {%- else %}{{ nom }}{% endif %}
{%- endfor %}
from read_parquet($1, file_row_number = true)
order by file_row_number
