-- A Parquet extract ($1, its path), row by row in the file's order, each
-- column read as the validator takes it (`ingest::parquet_file`).
select file_row_number, {{colonnes}}
from read_parquet($1, file_row_number = true)
order by file_row_number
