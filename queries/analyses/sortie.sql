-- An output table of `run` ($1, its Parquet file), copied for `query`.
select * from read_parquet($1)
