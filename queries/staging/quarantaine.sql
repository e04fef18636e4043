-- The quarantine: every rejected row of every extract, with its rule; the
-- raw content is filled in from the file (`contenus`).
create table quarantaine (
    extrait varchar,
    fichier varchar,
    ligne bigint,
    regle varchar,
    detail varchar,
    contenu varchar,
    cle varchar
)
