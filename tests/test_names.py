"""Player-name resolution (acebet.names).

With ACEBET_TEST_DATA set (e.g. /work/shared/data, holding tennis_atp/) the resolver is built
from the real Sackmann players file and match history; a missing folder then fails the run.
Without it the same tests run on a small synthetic players table built here, using the real
player ids, so the suite always exercises the behaviour.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from acebet.names import (
    AMBIGUOUS,
    FIRST_NAME_DIFFERS,
    LONG_ABSENCE,
    RESOLVED,
    SURNAME_ONLY,
    UNKNOWN,
    NameResolver,
    normalize,
)
from tests.sackmann import data_dir, load_sackmann

# Real Sackmann ids (atp_players.csv).
SINNER, ALCARAZ, ALCARAZ_GONZALEZ = 206173, 207989, 106688
AUGER_ALIASSIME, CARRENO_BUSTA, OCONNELL = 200000, 105807, 106331
SOONWOO_KWON, SIWOOK_KWON, DEL_POTRO = 126952, 132885, 105223
MPETSHI_PERRICARD, BAUTISTA_AGUT, TSONGA, HERBERT = 208659, 105138, 104542, 105732
ALBERT_RAMOS, ZE_ZHANG, JARRY, ELAHI_GALAN = 105077, 105585, 111797, 123755
EDUARDO_NAVA, EMILIO_NAVA = 124013, 207182
ALEX_KUZNETSOV, ANDREY_KUZNETSOV = 104864, 105723
OLEKSANDR_DOLGOPOLOV_SR, ALEXANDR_DOLGOPOLOV = 101051, 105238
MARIANO_BARRIOS, TOMAS_BARRIOS_VERA = 122628, 144642
ANDY_MURRAY, JAMIE_MURRAY, NAMELESS_MURRAY = 104918, 104679, 152040
ALEXANDER_ZVEREV, MISCHA_ZVEREV, XXXXXXX_ZVEREV = 100644, 104999, 125903
RADEK_STEPANEK, MARTIN_STEPANEK, AGASSI, MARTIN_SINNER = 103285, 103480, 101736, 101441


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# id, first, last, dob, first match, last match (None: no recorded match)
SYNTHETIC_PLAYERS = [
    (SINNER, "Jannik", "Sinner", "2001-08-16", "2018-06-25", "2022-10-31"),
    (ALCARAZ, "Carlos", "Alcaraz", "2003-05-05", "2019-04-01", "2022-10-31"),
    (ALCARAZ_GONZALEZ, "Carlos", "Alcaraz Gonzalez", None, None, None),
    (AUGER_ALIASSIME, "Felix", "Auger-Aliassime", "2000-08-08", "2015-07-20", "2022-11-27"),
    (CARRENO_BUSTA, "Pablo", "Carreno Busta", "1991-07-12", "2010-02-22", "2022-11-23"),
    (OCONNELL, "Christopher", "Oconnell", "1994-06-03", "2014-01-27", "2022-11-14"),
    (SOONWOO_KWON, "Soon Woo", "Kwon", "1997-12-02", "2015-05-11", "2022-10-17"),
    (SIWOOK_KWON, "Si Wook", "Kwon", None, None, None),
    (DEL_POTRO, "Juan Martin", "del Potro", "1988-09-23", "2005-06-20", "2022-02-07"),
    (MPETSHI_PERRICARD, "Giovanni", "Mpetshi Perricard", "2003-07-08", "2020-09-07", "2022-11-14"),
    (BAUTISTA_AGUT, "Roberto", "Bautista Agut", "1988-04-14", "2007-04-09", "2022-11-23"),
    (TSONGA, "Jo-Wilfried", "Tsonga", "1985-04-17", "2003-02-17", "2022-05-23"),
    (HERBERT, "Pierre Hugues", "Herbert", "1991-03-18", "2008-09-29", "2022-06-13"),
    (ALBERT_RAMOS, "Albert", "Ramos", "1988-01-17", "2007-04-09", "2022-10-31"),
    (106469, "Alberto", "Ramos", None, None, None),
    (ZE_ZHANG, "Ze", "Zhang", "1990-07-04", "2009-03-06", "2020-01-13"),
    (JARRY, "Nicolas", "Jarry", "1995-10-11", "2014-01-01", "2022-11-01"),
    (ELAHI_GALAN, "Daniel Elahi", "Galan", "1996-06-18", "2013-07-15", "2022-10-31"),
    (EDUARDO_NAVA, "Eduardo", "Nava", "1997-03-11", "2016-03-14", "2022-10-31"),
    (EMILIO_NAVA, "Emilio", "Nava", "2001-12-02", "2018-10-01", "2022-11-07"),
    (ALEX_KUZNETSOV, "Alex", "Kuznetsov", "1987-02-05", "2003-10-20", "2016-08-08"),
    (ANDREY_KUZNETSOV, "Andrey", "Kuznetsov", "1991-02-22", "2008-07-28", "2022-07-25"),
    (121665, "Askold", "Kuznetsov", "1991-09-23", None, None),
    (OLEKSANDR_DOLGOPOLOV_SR, "Oleksandr", "Dolgopolov", "1964-07-10", None, None),
    (ALEXANDR_DOLGOPOLOV, "Alexandr", "Dolgopolov", "1988-11-07", "2006-07-17", "2018-05-14"),
    (MARIANO_BARRIOS, "Mariano", "Barrios", "1994-03-17", None, None),
    (TOMAS_BARRIOS_VERA, "Tomas", "Barrios Vera", "1997-12-10", "2015-10-19", "2022-06-27"),
    (ANDY_MURRAY, "Andy", "Murray", "1987-05-15", "2003-07-14", "2022-10-31"),
    (JAMIE_MURRAY, "Jamie", "Murray", "1986-02-13", "2007-01-01", "2012-09-24"),
    (NAMELESS_MURRAY, "", "Murray", None, None, None),
    (ALEXANDER_ZVEREV, "Alexander", "Zverev", "1997-04-20", "2011-09-19", "2022-05-23"),
    (MISCHA_ZVEREV, "Mischa", "Zverev", "1987-08-22", "2002-06-24", "2022-04-04"),
    (XXXXXXX_ZVEREV, "Xxxxxxx", "Zverev", None, None, None),
    (RADEK_STEPANEK, "Radek", "Stepanek", "1978-11-27", "1995-07-24", "2017-01-16"),
    (MARTIN_STEPANEK, "Martin", "Stepanek", "1979-12-13", "2000-02-14", "2004-11-22"),
    (AGASSI, "Andre", "Agassi", "1970-04-29", "1990-02-05", "2006-08-28"),
    (MARTIN_SINNER, "Martin", "Sinner", "1968-02-07", "1990-01-22", "2009-07-13"),
]


def synthetic_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The resolver's two inputs; the types (Int64, String, Date) follow from the values."""
    players = pl.DataFrame(
        [(pid, first, last, dob and d(dob)) for pid, first, last, dob, *_ in SYNTHETIC_PLAYERS],
        schema=["player_id", "name_first", "name_last", "dob"], orient="row")
    activity = pl.DataFrame(
        [(pid, d(a), d(b)) for pid, _, _, _, a, b in SYNTHETIC_PLAYERS if a],
        schema=["player_id", "first_date", "last_date"], orient="row")
    return players, activity


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    atp = data_dir("tennis_atp")
    return load_sackmann(atp)[:2] if atp is not None else synthetic_frames()


@pytest.fixture(scope="module")
def resolver(frames: tuple[pl.DataFrame, pl.DataFrame]) -> NameResolver:
    return NameResolver(*frames)


# -- normalize -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Carreño-Busta, P.", "carreno busta p"),
        ("  O'Connell   C. ", "o connell c"),
        ("Félix AUGER–ALIASSIME", "felix auger aliassime"),
        ("Kwon S.W.", "kwon s w"),
        ("Łukasz Kubot", "lukasz kubot"),
        ("Holger Vitus Nødskov Rune", "holger vitus nodskov rune"),
        ("", ""),
    ],
)
def test_normalize(raw: str, key: str) -> None:
    assert normalize(raw) == key


# -- resolution of the brief's examples -----------------------------------------------------

ON = d("2021-06-01")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Jannik Sinner", SINNER),
        ("Carlos Alcaraz", ALCARAZ),
        ("Felix Auger Aliassime", AUGER_ALIASSIME),
        ("Felix Auger-Aliassime", AUGER_ALIASSIME),
        ("Auger-Aliassime F.", AUGER_ALIASSIME),
        ("Carreno Busta P.", CARRENO_BUSTA),
        ("Pablo Carreno Busta", CARRENO_BUSTA),
        ("O Connell C.", OCONNELL),
        ("Christopher O'Connell", OCONNELL),
        ("Kwon S.W.", SOONWOO_KWON),
        ("Del Potro J.M.", DEL_POTRO),
        ("Juan Martin Del Potro", DEL_POTRO),
        ("Mpetshi G.", MPETSHI_PERRICARD),
        ("Bautista R.", BAUTISTA_AGUT),
        ("Bautista Agut R.", BAUTISTA_AGUT),
        ("Tsonga J.W.", TSONGA),
        ("Tsonga J-W.", TSONGA),
        ("Herbert P-H.", HERBERT),
        ("Herbert P.H", HERBERT),
        ("Ramos-Vinolas A.", ALBERT_RAMOS),
        ("Zhang Ze", ZE_ZHANG),
        ("Elahi Galan D.", ELAHI_GALAN),
        ("Galan D.E.", ELAHI_GALAN),
        ("Daniel Galan", ELAHI_GALAN),
    ],
)
def test_examples_resolve(resolver: NameResolver, name: str, expected: int) -> None:
    res = resolver.resolve(name, ON if expected != ZE_ZHANG else d("2015-06-01"))
    assert (res.status, res.player_id) == (RESOLVED, expected), res


@pytest.mark.parametrize(
    "name",
    ["jannik SINNER", "Jännik Sinnér", "  Jannik   Sinner ", "SINNER, Jannik", "Sinner J."],
)
def test_accent_case_punctuation_insensitive(resolver: NameResolver, name: str) -> None:
    assert resolver.resolve(name, ON).player_id == SINNER


def test_accented_query_for_plain_players_file(resolver: NameResolver) -> None:
    assert resolver.resolve("Nicolás JARRY", ON).player_id == JARRY
    assert resolver.resolve("jarry n.", ON).player_id == JARRY


# -- namesakes -----------------------------------------------------------------------------


def test_ambiguous_pair_active_together_is_not_picked(resolver: NameResolver) -> None:
    # Eduardo and Emilio Nava were both playing in 2021-2022.
    res = resolver.resolve("Nava E.", d("2022-06-01"))
    assert res.status == AMBIGUOUS and res.player_id is None
    assert set(res.candidates) == {EDUARDO_NAVA, EMILIO_NAVA}
    # Alex and Andrey Kuznetsov were both active in 2012.
    res = resolver.resolve("Kuznetsov A.", d("2012-03-01"))
    assert res.status == AMBIGUOUS
    assert set(res.candidates) == {ALEX_KUZNETSOV, ANDREY_KUZNETSOV}


def test_activity_settles_namesakes(resolver: NameResolver) -> None:
    # Alex Kuznetsov stopped in 2016; Andrey started in 2008.
    assert resolver.resolve("Kuznetsov A.", d("2021-06-01")).player_id == ANDREY_KUZNETSOV
    assert resolver.resolve("Kuznetsov A.", d("2005-06-01")).player_id == ALEX_KUZNETSOV
    # Two-letter abbreviations narrow it down without activity help.
    assert resolver.resolve("Kuznetsov An.", d("2012-03-01")).player_id == ANDREY_KUZNETSOV


def test_without_date_several_fits_stay_ambiguous(resolver: NameResolver) -> None:
    res = resolver.resolve("Kwon S.W.")
    assert res.status == AMBIGUOUS
    assert {SOONWOO_KWON, SIWOOK_KWON} <= set(res.candidates)
    assert resolver.resolve("Kwon S.W.", ON).player_id == SOONWOO_KWON
    assert resolver.resolve("Nava E.").status == AMBIGUOUS


def test_inactive_namesake_is_not_a_silent_pick(resolver: NameResolver) -> None:
    # The only "Dolgopolov O." in the players file is the father (born 1964), who never
    # played a recorded match; the son (Oleksandr) is listed as Alexandr. The son, the only
    # Dolgopolov playing then, is taken, flagged: never the father.
    res = resolver.resolve("Dolgopolov O.", d("2012-06-01"))
    assert (res.status, res.player_id) == (RESOLVED, ALEXANDR_DOLGOPOLOV)
    assert res.flags == (FIRST_NAME_DIFFERS,) and "first name differs" in res.note
    assert OLEKSANDR_DOLGOPOLOV_SR in res.candidates


def test_no_recorded_matches_never_beats_an_active_namesake(resolver: NameResolver) -> None:
    # Bookmakers write Marcelo Tomas Barrios Vera as `Barrios M.`; Mariano Barrios fits the
    # name but never played a recorded match. The active player wins, flagged.
    for day in ("2021-02-24", "2022-01-18"):
        res = resolver.resolve("Barrios M.", d(day))
        assert (res.status, res.player_id) == (RESOLVED, TOMAS_BARRIOS_VERA), res
        assert res.flags == (FIRST_NAME_DIFFERS,)
        assert MARIANO_BARRIOS in res.candidates and "Mariano Barrios" in res.note
    # A fitting initial is no flag at all.
    res = resolver.resolve("Barrios Vera T.", d("2021-02-24"))
    assert (res.player_id, res.flags) == (TOMAS_BARRIOS_VERA, ())


def test_a_pick_between_candidates_is_logged_with_them(
    resolver: NameResolver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="acebet.names"):
        resolver.resolve("Barrios M.", d("2021-06-28"))
        resolver.resolve("Kuznetsov A.", d("2021-06-01"))
    text = caplog.text
    assert "'Barrios M.'" in text and str(TOMAS_BARRIOS_VERA) in text
    assert str(MARIANO_BARRIOS) in text and "first name differs" in text
    # Andrey is the only Kuznetsov A. active in 2021: Alex (stopped 2016) is named too.
    assert "'Kuznetsov A.'" in text and str(ALEX_KUZNETSOV) in text
    assert str(ANDREY_KUZNETSOV) in text


@pytest.mark.parametrize(
    ("name", "day", "expected", "last_match"),
    [
        ("Tsonga J.W.", "2024-03-04", TSONGA, "2022-05"),
        ("Jo-Wilfried Tsonga", "2025-01-13", TSONGA, "2022-05"),
        ("Del Potro J.M.", "2023-06-01", DEL_POTRO, "2022-02"),
        ("Dolgopolov A.", "2020-01-06", ALEXANDR_DOLGOPOLOV, "2018-05"),
    ],
)
def test_a_known_player_back_after_a_long_absence_is_resolved_and_flagged(
    resolver: NameResolver, name: str, day: str, expected: int, last_match: str
) -> None:
    res = resolver.resolve(name, d(day))
    assert (res.status, res.player_id) == (RESOLVED, expected), res
    assert res.flags == (LONG_ABSENCE,)
    assert f"last recorded match {last_match}" in res.note


def test_long_absence_is_not_stretched_past_playing_age_or_over_an_active_namesake(
    resolver: NameResolver,
) -> None:
    # Agassi last played in 2006; in 2023 he is 53: unknown, named in the suggestions.
    res = resolver.resolve("Agassi A.", d("2023-01-16"))
    assert res.status == UNKNOWN and "Andre Agassi" in res.suggestions
    # Martin Stepanek stopped in 2004; in 2012 `Stepanek M.` may be a wrong initial for
    # Radek, who was playing: both are candidates, no pick.
    res = resolver.resolve("Stepanek M.", d("2012-01-16"))
    assert res.status == AMBIGUOUS
    assert set(res.candidates) == {MARTIN_STEPANEK, RADEK_STEPANEK}


@pytest.mark.parametrize(
    ("name", "day", "status", "ids"),
    [
        ("Zverev", "2021-06-01", AMBIGUOUS, {ALEXANDER_ZVEREV, MISCHA_ZVEREV}),
        ("Murray", "2010-06-01", AMBIGUOUS, {ANDY_MURRAY, JAMIE_MURRAY}),
        ("Murray", "2021-06-01", RESOLVED, {ANDY_MURRAY}),
        ("SINNER", "2021-06-01", RESOLVED, {SINNER}),
        ("Sinner", "2000-06-01", RESOLVED, {MARTIN_SINNER}),
        ("Xyzzyq", "2021-06-01", UNKNOWN, set()),
    ],
)
def test_a_bare_surname_resolves_only_when_one_player_of_it_was_active(
    resolver: NameResolver, name: str, day: str, status: str, ids: set[int]
) -> None:
    res = resolver.resolve(name, d(day))
    assert res.status == status, res
    if status == RESOLVED:
        assert {res.player_id} == ids and SURNAME_ONLY in res.flags
    elif status == AMBIGUOUS:
        assert set(res.candidates) == ids
    # never a record without a first name or without a single match
    assert res.player_id not in (NAMELESS_MURRAY, XXXXXXX_ZVEREV)


def test_a_bare_surname_without_a_date_is_ambiguous_unless_unique(
    resolver: NameResolver,
) -> None:
    res = resolver.resolve("Zverev")
    assert res.status == AMBIGUOUS and {ALEXANDER_ZVEREV, MISCHA_ZVEREV} <= set(res.candidates)
    assert XXXXXXX_ZVEREV not in res.candidates


@pytest.mark.parametrize(
    ("typo", "player"),
    [
        ("Zinner J.", "Jannik Sinner"),  # first letter
        ("Sinnet J.", "Jannik Sinner"),  # last letter
        ("Qsonga J.W.", "Jo-Wilfried Tsonga"),
        ("Galan D.E.", "Daniel Elahi Galan"),  # no typo: still first
        ("Kuznetsob An.", "Andrey Kuznetsov"),
    ],
)
def test_suggestions_catch_one_letter_surname_typos(
    resolver: NameResolver, typo: str, player: str
) -> None:
    assert resolver.suggest(typo)[0] == player


def test_a_typo_in_an_unknown_name_is_suggested_in_the_resolution(
    resolver: NameResolver,
) -> None:
    res = resolver.resolve("Zinner J.", ON)
    assert res.status == UNKNOWN and res.suggestions[0] == "Jannik Sinner"


# -- unknown names -------------------------------------------------------------------------


def test_unknown_names_get_suggestions(resolver: NameResolver) -> None:
    res = resolver.resolve("Janik Siner", ON)
    assert res.status == UNKNOWN and res.player_id is None
    assert "Jannik Sinner" in res.suggestions and len(res.suggestions) <= 3
    # Without a date a misspelt surname is unknown, with the near name suggested ...
    res = resolver.resolve("Alcaras C.")
    assert res.status == UNKNOWN
    assert "Carlos Alcaraz" in res.suggestions
    # ... with one, a typo of the single active player with that initial is accepted.
    assert resolver.resolve("Alcaras C.", ON).player_id == ALCARAZ
    assert resolver.resolve("Alcaras C.", d("2010-01-01")).status == UNKNOWN


def test_numeric_name_is_not_a_player_id(resolver: NameResolver) -> None:
    res = resolver.resolve(str(SINNER), ON)
    assert res.status == UNKNOWN and res.player_id is None


@pytest.mark.parametrize("name", ["", "   ", "..."])
def test_blank_names_are_unknown(resolver: NameResolver, name: str) -> None:
    assert resolver.resolve(name, ON).status == UNKNOWN


# -- construction ----------------------------------------------------------------------------


def test_name_only_resolver_without_activity() -> None:
    players, _ = synthetic_frames()
    resolver = NameResolver(players.drop("dob"))
    assert resolver.resolve("Sinner J.").player_id == SINNER
    assert resolver.resolve("Carreno Busta P.", ON).player_id == CARRENO_BUSTA
    res = resolver.resolve("Nava E.", ON)
    assert res.status == AMBIGUOUS and set(res.candidates) == {EDUARDO_NAVA, EMILIO_NAVA}


def test_missing_columns_rejected() -> None:
    with pytest.raises(ValueError, match="name_last"):
        NameResolver(pl.DataFrame({"player_id": [1], "name_first": ["A"]}))


def test_from_db_builds_activity_from_matches() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE players (player_id BIGINT, name VARCHAR, name_first VARCHAR,"
        " name_last VARCHAR, dob DATE)"
    )
    con.execute(
        "CREATE TABLE matches (tourney_id VARCHAR, match_num INTEGER, tourney_date DATE,"
        " winner_id BIGINT, loser_id BIGINT)"
    )
    con.executemany(
        "INSERT INTO players VALUES (?, ?, ?, ?, ?)",
        [
            (ALEX_KUZNETSOV, "Alex Kuznetsov", "Alex", "Kuznetsov", d("1987-02-05")),
            (ANDREY_KUZNETSOV, "Andrey Kuznetsov", "Andrey", "Kuznetsov", d("1991-02-22")),
            (SINNER, "Jannik Sinner", "Jannik", "Sinner", d("2001-08-16")),
        ],
    )
    con.executemany(
        "INSERT INTO matches VALUES (?, ?, ?, ?, ?)",
        [
            ("2005-1", 1, d("2005-01-10"), ALEX_KUZNETSOV, SINNER),
            ("2016-1", 1, d("2016-08-08"), SINNER, ALEX_KUZNETSOV),
            ("2010-1", 1, d("2010-01-04"), ANDREY_KUZNETSOV, ALEX_KUZNETSOV),
            ("2022-1", 1, d("2022-07-25"), SINNER, ANDREY_KUZNETSOV),
        ],
    )
    resolver = NameResolver.from_db(con)
    assert resolver.activity(ALEX_KUZNETSOV) == (d("2005-01-10"), d("2016-08-08"))
    assert resolver.player_name(SINNER) == "Jannik Sinner"
    assert resolver.resolve("Kuznetsov A.", d("2021-01-01")).player_id == ANDREY_KUZNETSOV
    assert resolver.resolve("Kuznetsov A.", d("2012-01-01")).status == AMBIGUOUS


def test_bulk_resolution_answers_every_name(resolver: NameResolver) -> None:
    names = ["Sinner J.", "Carreno Busta P.", "Kwon S.W.", "Nava E.", "Janik Siner"]
    days = [d("2021-01-04") + dt.timedelta(days=i % 600) for i in range(30_000)]
    pairs = [(names[i % len(names)], day) for i, day in enumerate(days)]
    out = resolver.resolve_many([n for n, _ in pairs], [day for _, day in pairs])
    # the bulk path gives, for every row, what resolving that row alone gives
    assert len(out) == len(pairs)
    for i in range(0, len(pairs), 97):
        assert out[i] == resolver.resolve(*pairs[i]), pairs[i]


