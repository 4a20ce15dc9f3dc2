"""Bookmaker odds: reading tennis-data files, vig removal, attaching odds to Sackmann matches.

With ACEBET_TEST_DATA set (e.g. /work/shared/data, holding tennis_atp/ and tennis_data_odds/)
the coverage test measures name resolution and matching on the real 2021-2022 files; a
missing folder then fails the run. Without it, it runs on a small synthetic world built here.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest

from acebet.errors import InputError
from acebet.names import NameResolver
from acebet.odds import (
    OUTPUT_COLUMNS,
    MatchReport,
    match_odds,
    match_odds_with_report,
    read_odds,
    vig_free,
)
from tests.sackmann import data_dir, load_sackmann


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# -- read_odds -------------------------------------------------------------------------------

HEADER_2009 = (
    "ATP,Location,Tournament,Date,Series,Court,Surface,Round,Best of,Winner,Loser,WRank,LRank,"
    "WPts,LPts,W1,L1,W2,L2,W3,L3,W4,L4,W5,L5,Wsets,Lsets,Comment,B365W,B365L,EXW,EXL,LBW,LBL,"
    "SJW,SJL,UBW,UBL"
)
HEADER_2021 = (
    "ATP,Location,Tournament,Date,Series,Court,Surface,Round,Best of,Winner,Loser,WRank,LRank,"
    "WPts,LPts,W1,L1,W2,L2,W3,L3,W4,L4,W5,L5,Wsets,Lsets,Comment,B365W,B365L,PSW,PSL,MaxW,MaxL,"
    "AvgW,AvgL"
)


def odds_line(
    date: str,
    winner: str,
    loser: str,
    *,
    tournament: str = "Adelaide International",
    rnd: str = "1st Round",
    best_of: str = "3",
    comment: str = "Completed",
    b365: tuple[str, str] = ("1.5", "2.5"),
    ps: tuple[str, str] | None = ("1.61", "2.44"),
    mx: tuple[str, str] = ("1.67", "2.56"),
    avg: tuple[str, str] = ("1.56", "2.42"),
) -> str:
    """One tennis-data row; `ps=None` writes the 2009 layout (no Pinnacle/Max/Avg)."""
    m, day, year = int(date[5:7]), int(date[8:10]), date[:4]
    head = [
        "1", "Adelaide", tournament, f"{m}/{day}/{year}", "ATP250", "Outdoor", "Hard", rnd,
        best_of, winner, loser, "10", "20", "1000", "500",
        "6", "4", "6", "4", "", "", "", "", "", "", "2", "0", comment, *b365,
    ]  # fmt: skip
    if ps is None:
        tail = ["1.5", "2.4", "1.4", "2.6", "1.5", "2.5", "1.44", "2.6"]
    else:
        tail = [*ps, *mx, *avg]
    return ",".join(head + tail)


@pytest.fixture
def odds_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "tennis_data_odds"
    folder.mkdir()
    (folder / "2009.csv").write_text(
        "\n".join(
            [
                HEADER_2009,
                odds_line("2009-01-05", "Federer R. ", " Nadal R.", ps=None),
                odds_line("2009-01-06", "Murray A.", "Djokovic N.", ps=None, b365=("", "N/A")),
                ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,",
            ]
        )
        + "\n"
    )
    (folder / "2021.csv").write_text(
        "\n".join(
            [
                HEADER_2021,
                odds_line("2021-01-07", "Sinner J.", "Alcaraz C.", best_of="5"),
                odds_line("2021-01-08", "Carreno Busta P.", "O Connell C.", ps=("1", "0.97")),
                odds_line("2021-01-09", "Kwon S.W.", "Nava E.", mx=("inf", "abc"), avg=("", "")),
                odds_line("2021-01-10", "Zverev A.", "Medvedev D.", comment="Retired"),
                odds_line("2021-01-11", "Ruud C.", "Fritz T.", b365=("1e308", "1001"),
                          mx=("1.0009", "1000"), avg=("1.001", "42586")),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    (folder / "notes.txt").write_text("not an odds file\n")
    return folder


def test_read_odds_columns_and_types(odds_folder: Path) -> None:
    odds = read_odds(odds_folder)
    assert odds.columns == OUTPUT_COLUMNS
    assert odds.schema["date"] == pl.Date
    assert odds.schema["best_of"] == pl.Int64
    for col in ("ps_w", "ps_l", "avg_w", "avg_l", "b365_w", "b365_l", "max_w", "max_l"):
        assert odds.schema[col] == pl.Float64
    assert odds.height == 7  # the blank trailer row is dropped
    assert odds["source_file"].to_list() == ["2009.csv"] * 2 + ["2021.csv"] * 5
    assert odds["date"].to_list()[0] == d("2009-01-05")
    first = odds.row(0, named=True)
    assert (first["winner_name"], first["loser_name"]) == ("Federer R.", "Nadal R.")
    assert first["b365_w"] == 1.5 and first["tournament"] == "Adelaide International"


def test_read_odds_missing_columns_and_junk_become_null(odds_folder: Path) -> None:
    odds = read_odds(odds_folder)
    old = odds.filter(pl.col("source_file") == "2009.csv")
    for col in ("ps_w", "ps_l", "max_w", "max_l", "avg_w", "avg_l"):
        assert old[col].null_count() == old.height, col
    murray = odds.filter(pl.col("winner_name") == "Murray A.").row(0, named=True)
    assert murray["b365_w"] is None and murray["b365_l"] is None  # empty, "N/A"
    pcb = odds.filter(pl.col("winner_name") == "Carreno Busta P.").row(0, named=True)
    assert pcb["ps_w"] is None and pcb["ps_l"] is None  # 1.0 and 0.97 are not odds
    kwon = odds.filter(pl.col("winner_name") == "Kwon S.W.").row(0, named=True)
    assert kwon["max_w"] is None and kwon["max_l"] is None  # inf, abc
    assert kwon["avg_w"] is None and kwon["ps_w"] == 1.61


def test_read_odds_keeps_only_what_bookmakers_quote(odds_folder: Path) -> None:
    # 1e308 would be a near-certain market probability; 42586 is a real typo of 2005-2022.
    ruud = read_odds(odds_folder).filter(pl.col("winner_name") == "Ruud C.").row(0, named=True)
    assert (ruud["b365_w"], ruud["b365_l"]) == (None, None)
    assert (ruud["max_w"], ruud["max_l"]) == (None, 1000.0)
    assert (ruud["avg_w"], ruud["avg_l"]) == (1.001, None)


def test_read_odds_selected_years(odds_folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    odds = read_odds(odds_folder, years=[2021])
    assert set(odds["source_file"]) == {"2021.csv"}
    # Years past the odds data are skipped with a warning; none at all is an error.
    with caplog.at_level("WARNING", logger="acebet.odds"):
        assert read_odds(odds_folder, years=range(2021, 2031)).height == 5
    assert "2030" in caplog.text
    with pytest.raises(InputError, match="2030"):
        read_odds(odds_folder, years=[2030])


def test_read_odds_missing_folder_is_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_folder"
    with pytest.raises(InputError, match="no_such_folder") as info:
        read_odds(missing)
    assert info.value.exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty"):
        read_odds(empty)


# -- vig_free --------------------------------------------------------------------------------


def test_vig_free_normalizes_implied_probabilities() -> None:
    frame = pl.DataFrame({"a": [1.5, 2.0, None, 1.9], "b": [2.5, 2.0, 1.8, None]})
    p = frame.select(vig_free(pl.col("a"), pl.col("b")).alias("p"))["p"].to_list()
    assert math.isclose(p[0], (1 / 1.5) / (1 / 1.5 + 1 / 2.5))
    assert math.isclose(p[0], 0.625)
    assert p[1] == 0.5
    assert p[2] is None and p[3] is None
    both = frame.head(2).select(
        (vig_free(pl.col("a"), pl.col("b")) + vig_free(pl.col("b"), pl.col("a"))).alias("s")
    )
    assert all(math.isclose(s, 1.0) for s in both["s"])


# -- match_odds on a synthetic world -----------------------------------------------------------

SINNER, ALCARAZ, CARRENO, OCONNELL, FAA = 206173, 207989, 105807, 106331, 200000
EDUARDO_NAVA, EMILIO_NAVA, CHRIS_GUCCIONE, ANTHONY_GUCCIONE = 124013, 207182, 104589, 141916
MEDVEDEV, ZVEREV = 106421, 100644

WORLD_PLAYERS = [
    (SINNER, "Jannik", "Sinner", True),
    (ALCARAZ, "Carlos", "Alcaraz", True),
    (CARRENO, "Pablo", "Carreno Busta", True),
    (OCONNELL, "Christopher", "Oconnell", True),
    (FAA, "Felix", "Auger-Aliassime", True),
    (EDUARDO_NAVA, "Eduardo", "Nava", True),
    (EMILIO_NAVA, "Emilio", "Nava", True),
    (CHRIS_GUCCIONE, "Chris", "Guccione", True),
    (ANTHONY_GUCCIONE, "Anthony", "Guccione", False),
    (MEDVEDEV, "Daniil", "Medvedev", True),
    (ZVEREV, "Alexander", "Zverev", True),
]
# tourney_id, match_num, tourney_date, winner, loser
WORLD_MATCHES = [
    ("2021-7308", 1, "2021-01-04", SINNER, ALCARAZ),
    ("2021-7308", 2, "2021-01-04", CARRENO, OCONNELL),
    ("2021-7308", 3, "2021-01-04", EMILIO_NAVA, FAA),
    ("2021-580", 10, "2021-02-08", SINNER, CARRENO),  # a Slam: odds 12 days later
    ("2021-580", 11, "2021-02-08", ALCARAZ, CHRIS_GUCCIONE),
    ("2021-0605", 1, "2021-11-14", MEDVEDEV, ZVEREV),  # round robin ...
    ("2021-0605", 2, "2021-11-14", MEDVEDEV, ZVEREV),  # ... and the final, same pair
]
# date, winner, loser, tournament, round
WORLD_ODDS = [
    ("2021-01-05", "Sinner J.", "Alcaraz C.", "Adelaide", "1st Round"),
    ("2021-01-05", "Carreno Busta P.", "O Connell C.", "Adelaide", "1st Round"),
    ("2021-01-06", "Nava E.", "Auger-Aliassime F.", "Adelaide", "2nd Round"),  # ambiguous
    ("2021-02-20", "Sinner J.", "Carreno Busta P.", "Australian Open", "4th Round"),
    ("2021-02-09", "Alcaraz C.", "Guccione A.", "Australian Open", "1st Round"),  # wrong init.
    ("2021-11-21", "Medvedev D.", "Zverev A.", "Masters Cup", "The Final"),
    ("2021-11-15", "Medvedev D.", "Zverev A.", "Masters Cup", "Round Robin"),
    ("2021-01-05", "Sinner J.", "Alcaraz C.", "Adelaide", "1st Round"),  # duplicate row
    ("2021-03-30", "Sinner J.", "Alcaraz C.", "Miami", "1st Round"),  # no match in window
    ("2021-01-05", "Xyzzy Q.", "Sinner J.", "Adelaide", "1st Round"),  # unknown name
]


def world() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(players, activity, matches) of a small synthetic 2021 season."""
    players = pl.DataFrame(
        [(pid, first, last) for pid, first, last, _ in WORLD_PLAYERS],
        schema={"player_id": pl.Int64, "name_first": pl.String, "name_last": pl.String},
        orient="row",
    )
    activity = pl.DataFrame(
        [(pid, d("2015-01-01"), d("2022-11-30")) for pid, *_, active in WORLD_PLAYERS if active],
        schema={"player_id": pl.Int64, "first_date": pl.Date, "last_date": pl.Date},
        orient="row",
    )
    matches = pl.DataFrame(
        [(t, n, d(day), w, lo) for t, n, day, w, lo in WORLD_MATCHES],
        schema={
            "tourney_id": pl.String,
            "match_num": pl.Int64,
            "tourney_date": pl.Date,
            "winner_id": pl.Int64,
            "loser_id": pl.Int64,
        },
        orient="row",
    )
    return players, activity, matches


@pytest.fixture
def synthetic(tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame, NameResolver]:
    players, activity, matches = world()
    folder = tmp_path / "tennis_data_odds"
    folder.mkdir()
    lines = [HEADER_2021]
    for day, w, lo, tournament, rnd in WORLD_ODDS:
        lines.append(odds_line(day, w, lo, tournament=tournament, rnd=rnd))
    (folder / "2021.csv").write_text("\n".join(lines) + "\n")
    return read_odds(folder), matches, NameResolver(players, activity)


def test_match_odds_synthetic_world(
    synthetic: tuple[pl.DataFrame, pl.DataFrame, NameResolver],
) -> None:
    odds, matches, resolver = synthetic
    matched, report = match_odds_with_report(odds, matches, resolver)
    assert isinstance(report, MatchReport)
    assert report.odds_rows == len(WORLD_ODDS)
    # Both names resolve in all rows but the ambiguous Nava and the unknown Xyzzy.
    # (Guccione A. resolves to Chris, the only Guccione playing: Anthony, who fits the
    # initial, never played a match and never wins over an active namesake.)
    assert report.resolved_rows == len(WORLD_ODDS) - 2
    assert report.unresolved == {("Nava E.", "ambiguous"): 1, ("Xyzzy Q.", "unknown"): 1}
    # Nava E. (Emilio, the only Nava in that match) is rescued.
    assert report.rescued_rows == 1
    assert report.matched_rows == len(WORLD_MATCHES)
    assert matched.height == len(WORLD_MATCHES)
    assert matched.select("tourney_id", "match_num").is_unique().all()
    assert set(matched.columns) >= {
        "tourney_id",
        "match_num",
        "pinnacle_prob_winner",
        "avg_prob_winner",
        "b365_prob_winner",
        *OUTPUT_COLUMNS,
    }
    by_key = {(r["tourney_id"], r["match_num"]): r for r in matched.iter_rows(named=True)}
    assert by_key[("2021-7308", 3)]["winner_id"] == EMILIO_NAVA
    assert by_key[("2021-580", 11)]["loser_id"] == CHRIS_GUCCIONE
    assert by_key[("2021-580", 10)]["date"] == d("2021-02-20")  # Slam second week
    # Same pair twice at one event: the earlier odds row gets the earlier match.
    assert by_key[("2021-0605", 1)]["round"] == "Round Robin"
    assert by_key[("2021-0605", 2)]["round"] == "The Final"
    row = by_key[("2021-7308", 1)]
    assert math.isclose(row["pinnacle_prob_winner"], (1 / 1.61) / (1 / 1.61 + 1 / 2.44))
    assert math.isclose(row["avg_prob_winner"], (1 / 1.56) / (1 / 1.56 + 1 / 2.42))
    assert math.isclose(row["b365_prob_winner"], 0.625)


def test_a_wrong_initial_resolves_to_the_active_namesake_flagged(
    synthetic: tuple[pl.DataFrame, pl.DataFrame, NameResolver],
) -> None:
    _, _, resolver = synthetic
    res = resolver.resolve("Guccione A.", d("2021-02-09"))
    assert (res.player_id, res.flags) == (CHRIS_GUCCIONE, ("first_name_differs",))
    assert ANTHONY_GUCCIONE in res.candidates


def test_match_odds_window(synthetic: tuple[pl.DataFrame, pl.DataFrame, NameResolver]) -> None:
    odds, matches, resolver = synthetic
    slam = odds.filter(pl.col("tournament") == "Australian Open")
    assert match_odds(slam, matches, resolver).height == 2
    # Outside [tourney_date - 3, tourney_date + 21] nothing matches.
    assert match_odds(slam, matches, resolver, days_after=7).height == 1
    early = slam.with_columns(pl.col("date") - pl.duration(days=20))
    assert match_odds(early, matches, resolver).height == 0


def test_match_odds_rejects_bad_matches_frame(
    synthetic: tuple[pl.DataFrame, pl.DataFrame, NameResolver],
) -> None:
    odds, matches, resolver = synthetic
    with pytest.raises(InputError, match="match_num"):
        match_odds(odds, matches.drop("match_num"), resolver)


# -- coverage ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coverage_setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[pl.DataFrame, pl.DataFrame, NameResolver, float]:
    """(odds, matches, resolver, minimum share): real 2021-2022 or the synthetic world."""
    atp, odds_dir = data_dir("tennis_atp"), data_dir("tennis_data_odds")
    if atp is not None and odds_dir is not None:
        players, activity, tour = load_sackmann(atp)
        odds = read_odds(odds_dir, years=[2021, 2022])
        # Measured 99.8% resolved, 99.98% matched (2021-2022).
        return odds, tour, NameResolver(players, activity), 0.99
    players, activity, matches = world()
    folder = tmp_path_factory.mktemp("odds") / "tennis_data_odds"
    folder.mkdir()
    lines = [HEADER_2021] + [
        odds_line(day, w, lo, tournament=t, rnd=r) for day, w, lo, t, r in WORLD_ODDS[:7]
    ]
    (folder / "2021.csv").write_text("\n".join(lines) + "\n")
    return read_odds(folder), matches, NameResolver(players, activity), 6 / 7


def test_resolution_and_match_rates(
    coverage_setup: tuple[pl.DataFrame, pl.DataFrame, NameResolver, float],
) -> None:
    odds, matches, resolver, minimum = coverage_setup
    matched, report = match_odds_with_report(odds, matches, resolver)
    print()
    print(report.summary())
    first_seen = dict(
        pl.concat(
            [
                odds.select(pl.col("winner_name").alias("name"), "date"),
                odds.select(pl.col("loser_name").alias("name"), "date"),
            ]
        )
        .group_by("name")
        .agg(pl.col("date").min())
        .iter_rows()
    )
    for (name, status), rows in report.unresolved.items():
        res = resolver.resolve(name, first_seen.get(name))
        hint = res.suggestions or tuple(resolver.player_name(c) for c in res.candidates)
        print(f"  unresolved {status:9} {rows:4} rows  {name!r}  -> {hint}")
    assert report.odds_rows + report.walkover_rows == odds.height > 0
    assert report.walkover_rows == odds.filter(pl.col("comment") == "Walkover").height
    assert report.resolved_share >= minimum, report.summary()
    assert report.matched_share >= minimum, report.summary()
    assert matched.select("tourney_id", "match_num").is_unique().all()
    assert matched["pinnacle_prob_winner"].drop_nulls().is_between(0, 1).all()
