-- The accepted rows of an extract, typed: what every indicator reads,
-- materialised as `stg_{{extrait}}`. In no particular order: what needs the
-- file's order sorts by `ligne` itself. `chk_{{extrait}}` holds the rows
-- that broke a set-level rule (a few at most); the others are kept.
select *
from raw_{{extrait}}
anti join chk_{{extrait}} using (ligne)
