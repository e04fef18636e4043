-- Age in completed years on a given day.
create or replace macro age_revolu(naissance, jour) as
    year(jour) - year(naissance)
    - case when strftime(jour, '%m-%d') < strftime(naissance, '%m-%d') then 1 else 0 end
