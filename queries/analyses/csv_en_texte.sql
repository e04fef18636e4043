-- A generated CSV extract ($1, its path) read as text, every column
-- varchar, for the all-text Parquet extracts of `generate --format parquet`.
select *
from read_csv($1, delim = ';', header = true, all_varchar = true, parallel = false)
