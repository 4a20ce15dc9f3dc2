"""Small synthetic history in the Sackmann layout, so tests run on any fresh machine.

Players have a hidden skill; each weekly tournament is a knockout whose winners are
drawn from a logistic model of the skill gap, so features and models have signal to find.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from pathlib import Path

MATCH_HEADER = (
    "tourney_id,tourney_name,surface,draw_size,tourney_level,tourney_date,match_num,"
    "winner_id,winner_seed,winner_entry,winner_name,winner_hand,winner_ht,winner_ioc,"
    "winner_age,loser_id,loser_seed,loser_entry,loser_name,loser_hand,loser_ht,loser_ioc,"
    "loser_age,score,best_of,round,minutes,w_ace,w_df,w_svpt,w_1stIn,w_1stWon,w_2ndWon,"
    "w_SvGms,w_bpSaved,w_bpFaced,l_ace,l_df,l_svpt,l_1stIn,l_1stWon,l_2ndWon,l_SvGms,"
    "l_bpSaved,l_bpFaced,winner_rank,winner_rank_points,loser_rank,loser_rank_points"
).split(",")
PLAYER_HEADER = "player_id,name_first,name_last,hand,dob,ioc,height,wikidata_id".split(",")
FIRST = ["Ana", "Boris", "Carl", "Dario", "Emil", "Felix", "Goran", "Hugo", "Ivan", "Jan",
         "Karl", "Luca", "Marco", "Nils", "Oscar", "Pablo", "Quinn", "Rafael", "Sven", "Tomas"]
LAST = ["Novak", "Muller", "Rossi", "Garcia", "Kovac", "Silva", "Berg", "Dubois", "Sato",
        "Nowak", "Jensen", "Moreau", "Costa", "Horvat", "Ivanov", "Lopez", "Meyer", "Ruud",
        "Bianchi", "Fischer", "Petrov", "Santos", "Weber", "Zeller"]
SURFACES = ["Hard", "Clay", "Grass", "Hard"]
ROUNDS = {32: ["R32", "R16", "QF", "SF", "F"], 16: ["R16", "QF", "SF", "F"]}


def make_players(n: int, seed: int = 0) -> list[dict[str, object]]:
    rng = random.Random(seed)
    players = []
    for i in range(n):
        players.append({
            "player_id": 200000 + i,
            "name_first": FIRST[i % len(FIRST)],
            "name_last": LAST[(i // len(FIRST) + i) % len(LAST)] + ("" if i < 400 else str(i)),
            "hand": rng.choice("RRRL"),
            "dob": f"{rng.randint(1985, 2002)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
            "ioc": rng.choice(["ESP", "FRA", "USA", "ITA", "SRB", "GER"]),
            "height": rng.randint(170, 205),
            "wikidata_id": f"Q{1000 + i}",
            "skill": rng.gauss(0.0, 1.0),
        })
    return players


def _score(rng: random.Random, best_of: int) -> str:
    if rng.random() < 0.02:
        return "W/O"
    sets = []
    need = best_of // 2 + 1
    won = lost = 0
    while won < need:
        if rng.random() < 0.7:
            sets.append(f"6-{rng.randint(0, 4)}")
            won += 1
        else:
            sets.append(f"{rng.randint(2, 4)}-6")
            lost += 1
            if lost == need:  # keep it a win for the winner
                sets[-1] = "7-6(5)"
                lost -= 1
                won += 1
    text = " ".join(sets)
    return text + " RET" if rng.random() < 0.02 else text


def make_matches(
    players: list[dict[str, object]], seasons: range, *, seed: int = 0,
    weeks: int = 20, draw: int = 16, level: str = "A", prefix: str = "",
) -> dict[int, list[dict[str, object]]]:
    """One knockout per week of each season → {season: rows}."""
    rng = random.Random(seed)
    by_season: dict[int, list[dict[str, object]]] = {}
    for season in seasons:
        rows = []
        monday = dt.date(season, 1, 3)
        monday -= dt.timedelta(days=monday.weekday())
        for week in range(weeks):
            date = monday + dt.timedelta(weeks=2 * week)
            surface = SURFACES[week % len(SURFACES)]
            best_of = 5 if level == "G" else 3
            entrants = rng.sample(players, draw)
            tid = f"{season}-{prefix}{week:03d}"
            match_num = 0
            for rnd in ROUNDS[draw]:
                winners = []
                for a, b in zip(entrants[::2], entrants[1::2], strict=True):
                    p_a = 1 / (1 + math.exp(-(a["skill"] - b["skill"]) * 1.2))
                    win, lose = (a, b) if rng.random() < p_a else (b, a)
                    match_num += 1
                    rows.append(_row(rng, tid, surface, draw, level, date, match_num, win,
                                     lose, best_of, rnd))
                    winners.append(win)
                entrants = winners
        by_season[season] = rows
    return by_season


def _row(rng, tid, surface, draw, level, date, num, win, lose, best_of, rnd):  # noqa: ANN001, ANN202
    row = dict.fromkeys(MATCH_HEADER, "")
    w_rank = max(1, int(60 - 25 * win["skill"] + rng.gauss(0, 4)))
    l_rank = max(1, int(60 - 25 * lose["skill"] + rng.gauss(0, 4)))
    row.update({
        "tourney_id": tid, "tourney_name": f"Open {tid}", "surface": surface,
        "draw_size": draw, "tourney_level": level, "tourney_date": date.strftime("%Y%m%d"),
        "match_num": num, "winner_id": win["player_id"],
        "winner_name": f"{win['name_first']} {win['name_last']}", "winner_hand": win["hand"],
        "winner_ht": win["height"], "winner_ioc": win["ioc"], "winner_age": "25.1",
        "loser_id": lose["player_id"], "loser_name": f"{lose['name_first']} {lose['name_last']}",
        "loser_hand": lose["hand"], "loser_ht": lose["height"], "loser_ioc": lose["ioc"],
        "loser_age": "26.3", "score": _score(rng, best_of), "best_of": best_of, "round": rnd,
        "winner_rank": w_rank if rng.random() > 0.05 else "",
        "winner_rank_points": int(4000 / w_rank) if rng.random() > 0.05 else "",
        "loser_rank": l_rank, "loser_rank_points": int(4000 / l_rank),
    })
    row.update(_serve_stats(random.Random(f"{tid}:{num}"), win["skill"] - lose["skill"]))
    return row


def _serve_stats(rng: random.Random, edge: float) -> dict[str, int]:
    """Serve points and points won for both sides, the better player serving better, so
    the serve ratings move. Drawn from their own generator: the results stay the same."""
    stats = {}
    for side, sign in (("w", 1.0), ("l", -1.0)):
        points = rng.randint(45, 90)
        share = min(max(0.62 + sign * 0.05 * edge + rng.gauss(0.0, 0.05), 0.3), 0.9)
        won = round(share * points)
        first_in = round(0.6 * points)
        first_won = min(first_in, round(0.7 * won))
        stats.update({f"{side}_svpt": points, f"{side}_1stIn": first_in,
                      f"{side}_1stWon": first_won, f"{side}_2ndWon": won - first_won})
    return stats


def write_csv(path: Path, header: list[str], rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_sackmann_folder(
    folder: Path, seasons: range = range(2019, 2023), *, n_players: int = 64, seed: int = 0,
) -> Path:
    """A folder with atp_players.csv, tour and qual_chall files for `seasons`."""
    folder.mkdir(parents=True, exist_ok=True)
    players = make_players(n_players, seed)
    write_csv(folder / "atp_players.csv", PLAYER_HEADER, players)
    tour = make_matches(players, seasons, seed=seed, weeks=20, draw=16, level="A")
    chall = make_matches(players, seasons, seed=seed + 1, weeks=10, draw=16, level="C",
                         prefix="C")
    for season in seasons:
        write_csv(folder / f"atp_matches_{season}.csv", MATCH_HEADER, tour[season])
        write_csv(folder / f"atp_matches_qual_chall_{season}.csv", MATCH_HEADER, chall[season])
    return folder


ODDS_HEADER = ["ATP", "Location", "Tournament", "Date", "Series", "Court", "Surface", "Round",
               "Best of", "Winner", "Loser", "Comment", "B365W", "B365L", "PSW", "PSL",
               "AvgW", "AvgL"]


def write_odds_folder(source: Path, folder: Path, seasons: range, *, seed: int = 0) -> Path:
    """Yearly tennis-data odds files (`YYYY.csv`) for the tour matches of a synthetic
    Sackmann folder: names as "Last F.", the favourite drawn at random, so the market
    disagrees with any model on many matches."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with (source / "atp_players.csv").open(newline="") as handle:
        names = {row["player_id"]: f"{row['name_last']} {row['name_first'][0]}."
                 for row in csv.DictReader(handle)}
    for season in seasons:
        rows = []
        with (source / f"atp_matches_{season}.csv").open(newline="") as handle:
            for match in csv.DictReader(handle):
                short, long = sorted((round(rng.uniform(1.15, 1.9), 2),
                                      round(rng.uniform(2.0, 5.5), 2)))
                won, lost = (short, long) if rng.random() < 0.5 else (long, short)
                day = match["tourney_date"]
                rows.append({
                    "ATP": "1", "Location": "Synthetic", "Tournament": match["tourney_name"],
                    "Date": f"{int(day[4:6])}/{int(day[6:8])}/{day[:4]}", "Series": "ATP250",
                    "Court": "Outdoor", "Surface": match["surface"], "Round": match["round"],
                    "Best of": match["best_of"], "Winner": names[match["winner_id"]],
                    "Loser": names[match["loser_id"]], "Comment": "Completed",
                    "B365W": won, "B365L": lost, "PSW": won, "PSL": lost,
                    "AvgW": won, "AvgL": lost,
                })
        write_csv(folder / f"{season}.csv", ODDS_HEADER, rows)
    return folder
