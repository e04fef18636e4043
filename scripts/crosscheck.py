#!/usr/bin/env python3
"""Independent re-implementation of SPEC §3 in plain Python, to cross-check
ouistat's SQL on a clean generated dataset.

    cargo run -- generate --out /tmp/x/extraits --persons 3000 --seed 9
    cargo run -- run --extracts /tmp/x/extraits --out /tmp/x/sortie --cutoff 2026-10-31
    OUISTAT_BIN=$CARGO_TARGET_DIR/debug/ouistat python3 scripts/crosscheck.py /tmp/x/extraits /tmp/x/sortie 2026-10-31

It reads the extracts with the csv module, computes the funnel, delays, PIC
and fill indicators from the specification's text alone, exports ouistat's
cubes through `ouistat query --format csv`, and compares every row: counts
exactly, rates to 1e-9. Exit status 1 on any difference.
"""
import csv
import datetime as dt
import os
import subprocess
import sys
from collections import defaultdict

INFRA = {"AFS", "CP4", "CFG", "C3A", "C12", "NV5"}
DIMS = ["dispositif", "financeur_code", "prescripteur_type", "sexe", "tranche_age", "niveau",
        "eligible_pic", "beneficiaire_rsa", "travailleur_handicape"]


def date(s):
    return dt.datetime.strptime(s, "%d/%m/%Y").date() if "/" in s else dt.date.fromisoformat(s)


def ts(s):
    d, t = s.split(" ")
    return dt.datetime.combine(date(d), dt.time.fromisoformat(t))


def read(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def tperiod(d):
    return f"{d.year}-T{(d.month - 1) // 4 + 1}"


def age(born, day):
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def quantile(values, q):
    v = sorted(values)
    if not v:
        return None
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def main(extracts, out, cutoff_s):
    cutoff = date(cutoff_s)
    end = dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time())
    sessions = {r["session_id"]: r for r in read(os.path.join(extracts, "sessions.csv"))}
    persons = {r["identifiant_spe"]: r for r in read(os.path.join(extracts, "individus.csv"))}
    positions = [p for p in read(os.path.join(extracts, "positionnements.csv")) if ts(p["date_positionnement"]) < end]
    events = defaultdict(list)
    for e in read(os.path.join(extracts, "evenements.csv")):
        if ts(e["enregistre_le"]) < end:
            events[e["positionnement_id"]].append(e)

    def latest(evs):
        return max(evs, key=lambda e: (date(e["date_evenement"]), ts(e["enregistre_le"]), e["statut"], e["motif_code"]))

    rows = []
    for p in positions:
        evs = events[p["positionnement_id"]]
        by = defaultdict(list)
        for e in evs:
            by[e["type"]].append(e)
        ico = latest(by["ICO"]) if by["ICO"] else None
        ais = latest(by["AIS"]) if by["AIS"] else None
        ent = latest(by["ENTREE"]) if by["ENTREE"] else None
        entry = date(ent["date_evenement"]) if ent else None
        abandons = [a for a in by["ABANDON"] if entry and date(a["date_evenement"]) >= entry]
        day = ts(p["date_positionnement"]).date()
        s, i = sessions[p["session_id"]], persons[p["identifiant_spe"]]
        a = age(date(i["date_naissance"]), day)
        rows.append({
            "pid": p["positionnement_id"], "person": p["identifiant_spe"], "session": p["session_id"], "day": day,
            "present": bool(ico) and ico["statut"] in ("PRESENT_RETENU", "PRESENT_NON_RETENU"),
            "retenu": bool(ico) and ico["statut"] == "PRESENT_RETENU",
            "ais": bool(ais) and ais["statut"] == "VALIDEE",
            "entre": entry is not None, "entry": entry,
            "abandon": bool(abandons),
            "j_entree": (entry - day).days if entry else None,
            "j_ico": (date(ico["date_evenement"]) - day).days if (entry and ico) else None,
            "eligible": i["eligible_pic"] == "O",
            "geo": {"france": None, "region": s["region"] or "inconnu", "departement": s["departement"] or "inconnu",
                    "zone_emploi": s["zone_emploi"] or "inconnu"},
            "dim": {"dispositif": s["dispositif"], "financeur_code": s["financeur_code"],
                    "prescripteur_type": p["prescripteur_type"], "sexe": "homme" if i["civilite"] == "M" else "femme",
                    "tranche_age": "<26" if a < 26 else ("26-49" if a < 50 else "50+"),
                    "niveau": "infra_bac" if i["niveau_formation"] in INFRA else "bac_et_plus",
                    "eligible_pic": "oui" if i["eligible_pic"] == "O" else "non",
                    "beneficiaire_rsa": {"O": "oui", "N": "non"}.get(i["beneficiaire_rsa"], "inconnu"),
                    "travailleur_handicape": {"O": "oui", "N": "non"}.get(i["travailleur_handicape"], "inconnu")},
        })

    def keys(r, d):
        for per in (tperiod(d), d.strftime("%Y-%m")):
            for lvl, code in r["geo"].items():
                yield (per, lvl, code or "", "ensemble", "ensemble")
                for dim in DIMS:
                    yield (per, lvl, code or "", dim, r["dim"][dim])

    funnel = defaultdict(list)
    entered = defaultdict(list)
    for r in rows:
        for k in keys(r, r["day"]):
            funnel[k].append(r)
        if r["entre"]:
            for k in keys(r, r["entry"]):
                entered[k].append(r)

    expected = {}
    for k, rs in funnel.items():
        n = len(rs)
        ne = sum(r["entre"] for r in rs)
        expected[("entonnoir",) + k] = {
            "nb_positionnements": n, "nb_presents_ico": sum(r["present"] for r in rs),
            "nb_retenus": sum(r["retenu"] for r in rs), "nb_ais_validees": sum(r["ais"] for r in rs),
            "nb_entrees": ne, "nb_abandons": sum(r["abandon"] for r in rs), "taux_entree": ne / n,
            "nb_personnes_positionnees": len({r["person"] for r in rs}),
            "nb_personnes_entrees": len({r["person"] for r in rs if r["entre"]}),
        }
        if ne:
            je = [r["j_entree"] for r in rs if r["entre"]]
            ji = [r["j_ico"] for r in rs if r["j_ico"] is not None]
            expected[("delais",) + k] = {
                "nb_entrees": ne, "mediane_jours_entree": quantile(je, 0.5), "p75_jours_entree": quantile(je, 0.75),
                "mediane_jours_ico": quantile(ji, 0.5), "p75_jours_ico": quantile(ji, 0.75)}
    for k in set(funnel) | set(entered):
        pos, ent = funnel.get(k, []), entered.get(k, [])
        pp, pe = {r["person"] for r in pos}, {r["person"] for r in ent}
        ep, ee = {r["person"] for r in pos if r["eligible"]}, {r["person"] for r in ent if r["eligible"]}
        expected[("pic",) + k] = {
            "nb_personnes_positionnees": len(pp), "nb_eligibles_pic_positionnes": len(ep),
            "part_eligibles_pic_positionnes": len(ep) / len(pp) if pp else None,
            "nb_personnes_entrees": len(pe), "nb_eligibles_pic_entres": len(ee),
            "part_eligibles_pic_entres": len(ee) / len(pe) if pe else None}

    last = tperiod(cutoff)
    got = {}
    for cube, measures in [("entonnoir", expected[next(k for k in expected if k[0] == "entonnoir")]),
                           ("delais", expected[next(k for k in expected if k[0] == "delais")]),
                           ("pic", expected[next(k for k in expected if k[0] == "pic")])]:
        cols = list(measures)
        sql = (f"select periode, niveau_geo, coalesce(code_geo, '') as code_geo, dimension, modalite, {', '.join(cols)} "
               f"from {cube} where periode <= '{last}'")
        binary = os.environ.get("OUISTAT_BIN")
        command = [binary] if binary else ["cargo", "run", "-q", "--"]
        text = subprocess.run(command + ["query", "--out", out, "--format", "csv", sql],
                              check=True, capture_output=True, text=True).stdout
        for r in csv.DictReader(text.splitlines()):
            k = (cube, r["periode"], r["niveau_geo"], r["code_geo"], r["dimension"], r["modalite"])
            got[k] = {c: (None if r[c] == "" else float(r[c])) for c in cols}

    # ouistat computes periods from the first data to the cut-off; compare those.
    periods = {k[1] for k in got}
    want = {k: v for k, v in expected.items() if k[1] in periods}
    bad = 0
    for k in sorted(set(want) | set(got), key=str):
        if k[0] == "delais" and k not in want and got.get(k, {}).get("nb_entrees") == 0:
            continue  # the france × ensemble row of a period without entries
        if k[0] == "entonnoir" and k not in want and got.get(k, {}).get("nb_positionnements") == 0:
            continue
        e, g = want.get(k), got.get(k)
        if e is None or g is None:
            bad += 1
            if bad < 10:
                print("row only in", "ouistat" if e is None else "reference", k)
            continue
        for c, v in e.items():
            w = g[c]
            same = (v is None and w is None) or (v is not None and w is not None and abs(float(v) - w) <= 1e-9)
            if not same:
                bad += 1
                if bad < 10:
                    print("differs", k, c, "reference", v, "ouistat", w)
    print(f"compared {len(want)} reference rows with {len(got)} ouistat rows: {bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
