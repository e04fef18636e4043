-- The lines of chk_{{extrait}} that a set-level rule rejects: their raw
-- content is read back from the file before they join the quarantine.
select ligne from chk_{{extrait}} where regle is not null
