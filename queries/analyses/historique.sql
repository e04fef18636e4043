-- A cube's history ($1, the glob of its `date_arrete=…` partitions),
-- copied for `query`.
select * from read_parquet($1, hive_partitioning = true)
