-- The committee period of a day: YYYY-T1 (Jan–Apr), YYYY-T2 (May–Aug), YYYY-T3 (Sep–Dec).
create or replace macro periode_quadrimestre(jour) as
    strftime(jour, '%Y') || '-T' || cast((month(jour) - 1) // 4 + 1 as varchar);

-- A period as one integer, which names its kind too: YYYYMM for a month
-- (202603 is 2026-03), YYYY13 to YYYY15 for the four-month periods T1 to
-- T3 (202613 is 2026-T1). The cube models group the rows of `int_eclate`
-- by it, a number being several times cheaper to group than the labels;
-- the marts read the labels back from `int_codes_periodes`.
create or replace macro code_mois(jour) as
    year(jour) * 100 + month(jour);

create or replace macro code_quadrimestre(jour) as
    year(jour) * 100 + 12 + (month(jour) - 1) // 4 + 1;

-- The code of a period given by its label and kind, as `int_periodes`
-- lists them ('2026-03', 'mois' or '2026-T1', 'quadrimestre').
create or replace macro code_periode(periode, type_periode) as
    case type_periode
        when 'mois' then cast(replace(periode, '-', '') as integer)
        else cast(left(periode, 4) as integer) * 100 + 12 + cast(right(periode, 1) as integer)
    end;
