-- The committee period of a day: YYYY-T1 (Jan–Apr), YYYY-T2 (May–Aug), YYYY-T3 (Sep–Dec).
create or replace macro periode_quadrimestre(jour) as
    strftime(jour, '%Y') || '-T' || cast((month(jour) - 1) // 4 + 1 as varchar)
