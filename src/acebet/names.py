"""Resolving player names (fixtures, bookmaker files) to Sackmann player ids.

Names arrive in two shapes: full names (`Jannik Sinner`, `Felix Auger Aliassime`) and the
bookmakers' `Last F.` form (`Carreno Busta P.`, `O Connell C.`, `Kwon S.W.`). Both are matched
accent-, case-, punctuation- and space-insensitively against the players table, in levels
from the strictest fit to the loosest:

1. the whole name equals a player's "first last" (or "last first");
2. the surname equals the player's and every given first name / initial fits in order
   (`Del Potro J.M.` -> Juan Martin, `Herbert P-H.` -> Pierre Hugues);
3. the surname equals the player's, the first name fits loosely: more initials than first
   names (`Kwon S.W.` -> Soonwoo), a first-name prefix (`Daniel Galan` -> Daniel Elahi
   Galan), or the initial of a later first name (`Statham R.` -> Jose Rubin Statham);
4. the same first-name fits, with the surname a part of a compound surname or the other way
   round (`Mpetshi G.` -> Mpetshi Perricard, `Bautista R.` -> Bautista Agut,
   `Ramos-Vinolas A.` -> Ramos);
5. only with activity and a date: a surname differing by a typo (`Querry S.` -> Querrey)
   among players active around that date.

When activity (first and last match date per player) is known, a date is given and
nobody is picked silently, the steps are:

a. the first level holding exactly one player active around the date (within
   `active_margin_days`) wins; several active players in that level are "ambiguous" (unless
   exactly one of them played both before and after the date);
b. a fitting player with recorded matches but none within a year of the date is resolved
   and flagged `long_absence` (a known player coming back is still that player), unless
   older than a playing age, or unless a namesake with another first name was active then
   (`Stepanek M.` in 2012: Martin last played in 2007, Radek was playing): "ambiguous";
c. a typo of an active player's surname (level 5);
d. an active namesake (same surname, or a part of a compound one) whose first name does
   not fit: the only one is resolved and flagged `first_name_differs` (bookmakers write
   `Barrios M.` for Marcelo Tomas Barrios Vera, listed as Tomas), several are ambiguous.
   A player without any recorded match never wins over an active namesake;
e. a strict fit (levels 1-2) without any recorded match and of playing age: a newcomer,
   flagged `no_recorded_matches`;
f. otherwise "unknown", with the fitting but inactive players first in its suggestions.

A bare surname (`Zverev`) is resolved only when exactly one player of that surname was
active around the date (flagged `surname_only`); several are "ambiguous" with their ids,
records without a first name never win. Without activity, the first level decides on
names alone. Every pick between several candidates is logged at INFO (`-v`) with the
candidates and the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from rapidfuzz import fuzz, process

from acebet.db import history

log = logging.getLogger(__name__)

RESOLVED = "resolved"
AMBIGUOUS = "ambiguous"
UNKNOWN = "unknown"

#: A candidate counts as active on a date within this many days of its first/last match.
ACTIVE_MARGIN_DAYS = 365
#: Ages (years) at which a player without any recorded match may be a newcomer, and at
#: which a player back after a long absence may still be playing.
NEWCOMER_AGES = (14.0, 40.0)
RETURNING_MAX_AGE = 45.0
#: rapidfuzz ratio (0-100, normalized Indel) for surname typos (level 5: `Querry` ~ Querrey
#: 92, `Tyurnev` ~ Tiurnev 86, while `Fish` ~ Fisher is 80) and for surname checks against
#: a known match. Re-measured on the 2005-2022 bookmaker names (tests/bench/bench_names.py).
SURNAME_CUTOFF = 85.0
#: rapidfuzz ratio below which a name is not worth suggesting (`Zinner J` ~ `sinner j` 88).
SUGGEST_CUTOFF = 60.0

# Flags a resolution can carry: why the pick deserves a second look.
LONG_ABSENCE = "long_absence"
BEFORE_FIRST_MATCH = "before_first_match"
FIRST_NAME_DIFFERS = "first_name_differs"
SURNAME_ONLY = "surname_only"
SURNAME_TYPO = "surname_typo"
NO_RECORDED_MATCHES = "no_recorded_matches"

# Letters NFKD does not decompose into base letter + combining mark.
_TRANSLIT = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "ı": "i",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "þ": "th",
        "Þ": "TH",
    }
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Generational suffixes dropped from the end of surnames and queries ("Wang Y. Jr").
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# Bare initials written without periods at the end of a name ("Aragone JC", "Kim K").
_UPPER_INITIALS = re.compile(r"^[A-Z]{1,3}$")

# Shortest surname part used for compound-surname matches (skips "de", "al", "van", "del").
_MIN_PART = 4
# Level kinds, in order of preference.
_STRICT, _LOOSE, _PARTIAL, _FUZZY = 0, 1, 2, 3
# First-name fit qualities.
_FIT_ALL, _FIT_LOOSE, _FIT_LATER = 3, 2, 1


def normalize(name: str) -> str:
    """Accent-, case- and punctuation-insensitive key: `Carreño-Busta, P.` -> `carreno busta p`.

    NFKD with combining marks stripped (plus a few letters NFKD leaves alone, such as ø and
    ł), lowercased, every run of characters other than letters and digits (hyphens,
    apostrophes, periods, commas, ...) turned into one space, trimmed.
    """
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name.translate(_TRANSLIT))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return _NON_ALNUM.sub(" ", text.translate(_TRANSLIT)).strip()


def _compact(tokens: Sequence[str]) -> str:
    return "".join(tokens)


def _tokens(name: str | None, *, strip_suffix: bool = False) -> tuple[str, ...]:
    toks = normalize(name or "").split()
    while strip_suffix and len(toks) > 1 and toks[-1] in _SUFFIXES:
        toks.pop()
    return tuple(toks)


def _surname_parts(last: tuple[str, ...]) -> set[str]:
    """Leading and trailing token runs of a compound surname, too-short ones left out.

    `mpetshi perricard` -> {mpetshi, perricard}; `van der merwe` -> {vander, dermerwe, merwe}
    (not `van`: particles such as "de", "al", "van" would match half the players file).
    """
    parts = set()
    for k in range(1, len(last)):
        for part in (_compact(last[:k]), _compact(last[k:])):
            if len(part) >= _MIN_PART:
                parts.add(part)
    return parts


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one name.

    `name` is the name as given. `player_id` is set only when `status == "resolved"`;
    `candidates` lists the ids that fit equally well when `status == "ambiguous"` (and,
    for a resolved name, the others that were considered); `suggestions` holds up to
    three close full names when `status == "unknown"`. `flags` (see the module constants)
    and `note` say why a resolved pick deserves a second look: callers warn with them.
    """

    name: str
    player_id: int | None
    status: str
    candidates: tuple[int, ...] = ()
    suggestions: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class _Query:
    """One reading of a name: surname tokens plus first-name tokens or initials."""

    last: tuple[str, ...]
    first: tuple[str, ...]
    abbreviated: bool  # `first` holds initials / prefixes rather than whole names


def _is_initials(tok: str, pieces: list[str], at_end: bool) -> bool:
    if "." in tok and all(len(p) <= 3 for p in pieces):
        return True  # "P.", "S.W.", "J-W.", "P..", "Mat.", "P.H"
    if len(pieces) == 1 and len(pieces[0]) == 1:
        return True  # "Kim K"
    return at_end and bool(_UPPER_INITIALS.match(tok))  # "Aragone JC"


def _parse(name: str) -> tuple[tuple[str, ...], list[_Query]]:
    """The normalized tokens of `name` and all its readings."""
    raw = name.split()
    while len(raw) > 1 and normalize(raw[-1]) in _SUFFIXES:
        raw.pop()
    tokens = _tokens(" ".join(raw))
    queries: list[_Query] = []
    initials: list[str] = []
    i = len(raw)
    while i > 1:
        tok = raw[i - 1]
        pieces = normalize(tok).split()
        if pieces and not _is_initials(tok, pieces, i == len(raw)):
            break
        if pieces and _UPPER_INITIALS.match(tok) and len(pieces[0]) > 1 and "." not in tok:
            pieces = list(pieces[0])  # "JC" -> j, c
        initials[:0] = pieces
        i -= 1
    last = _tokens(" ".join(raw[:i]), strip_suffix=True)
    if initials and last:
        queries.append(_Query(last, tuple(initials), True))
    # Full name: every split, in both orders ("Jannik Sinner", "Zhang Ze"). Also tried for
    # undotted initials ("Kim K", "Aragone JC"), which could be short names.
    if len(tokens) >= 2 and not (queries and "." in name):
        for k in range(1, len(tokens)):
            queries.append(_Query(tokens[k:], tokens[:k], False))
            queries.append(_Query(tokens[:k], tokens[k:], False))
    return tokens, queries


def _first_fit(query: _Query, first: tuple[str, ...]) -> int:
    """How well the query's first names / initials fit a player's first-name tokens.

    _FIT_ALL: every given piece fits, in order; _FIT_LOOSE: more initials than first names,
    or one first-name list a prefix of the other; _FIT_LATER: fits from a later first name
    on (a first name the bookmaker dropped); 0: no fit.
    """
    if not first:
        return 0
    pieces = query.first
    if query.abbreviated:

        def fits_from(start: int) -> int:
            if not first[start].startswith(pieces[0]):
                return 0
            quality = _FIT_ALL
            for j, piece in enumerate(pieces[1:], start=start + 1):
                if j >= len(first):
                    quality = _FIT_LOOSE  # "Kwon S.W." -> Soonwoo
                elif not first[j].startswith(piece):
                    return 0
            return quality

        best = fits_from(0)
        if best:
            return best
        if any(fits_from(s) for s in range(1, len(first))):
            return _FIT_LATER  # "Statham R." -> Jose Rubin Statham
        if len(pieces) > 1 and _first_fit(_Query(query.last, pieces[1:], True), first):
            return _FIT_LATER  # "Barrios Vera M.T." -> Tomas Barrios Vera
        return 0
    if _compact(pieces) == _compact(first):
        return _FIT_ALL
    pairs = zip(pieces, first, strict=False)  # the shorter list is a prefix of the other
    if all(q == f or (len(q) == 1 and f.startswith(q)) for q, f in pairs):
        # "Daniel Galan" -> Daniel Elahi Galan, "Juan M. Del Potro" -> Juan Martin
        return _FIT_LOOSE
    if len(pieces) < len(first) and any(
        first[s : s + len(pieces)] == pieces for s in range(1, len(first))
    ):
        return _FIT_LATER  # "Rubin Statham" -> Jose Rubin Statham
    return 0


def _birth_ordinal(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.toordinal()
    text = str(value).strip()
    if len(text) >= 8 and text[:8].isdigit():
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])).toordinal()
        except ValueError:
            return None
    try:
        return dt.date.fromisoformat(text[:10]).toordinal()
    except ValueError:
        return None


class NameResolver:
    """Resolves names to player ids; build once, call `resolve` many times.

    `players` needs player_id, name_first, name_last; `name` (display) and `dob` (Date or
    YYYYMMDD) are used when present. `activity` (optional) has player_id, first_date,
    last_date (Date): each player's first and last match date, used to tell namesakes
    apart. Results of the name lookups are cached per name, so batches are cheap.
    """

    def __init__(
        self,
        players: pl.DataFrame,
        activity: pl.DataFrame | None = None,
        *,
        active_margin_days: int = ACTIVE_MARGIN_DAYS,
    ) -> None:
        missing = {"player_id", "name_first", "name_last"} - set(players.columns)
        if missing:
            raise ValueError(f"players frame lacks columns {sorted(missing)}")
        self.margin = active_margin_days
        self._first: dict[int, tuple[str, ...]] = {}
        self._last: dict[int, tuple[str, ...]] = {}
        self._display: dict[int, str] = {}
        self._born: dict[int, int] = {}
        self._by_full: dict[str, set[int]] = defaultdict(set)
        self._by_last: dict[str, set[int]] = defaultdict(set)
        self._by_part: dict[str, set[int]] = defaultdict(set)
        extra = [c for c in ("name", "dob") if c in players.columns]
        for row in players.select("player_id", "name_first", "name_last", *extra).iter_rows(
            named=True
        ):
            if row["player_id"] is None:
                continue
            pid = int(row["player_id"])
            first = _tokens(row["name_first"])
            last = _tokens(row["name_last"], strip_suffix=True)
            if not first and not last:
                continue
            parts = (str(row["name_first"] or "").strip(), str(row["name_last"] or "").strip())
            self._display[pid] = (row.get("name") or " ".join(p for p in parts if p)).strip()
            self._first[pid], self._last[pid] = first, last
            born = _birth_ordinal(row.get("dob"))
            if born is not None:
                self._born[pid] = born
            self._by_full[_compact(first + last)].add(pid)
            self._by_full[_compact(last + first)].add(pid)
            if last:
                self._by_last[_compact(last)].add(pid)
                for part in _surname_parts(last):
                    self._by_part[part].add(pid)  # "mpetshi" (Perricard), "galan" (Elahi)
        self._activity: dict[int, tuple[int, int]] = {}
        if activity is not None and activity.height:
            spans = activity.select(
                pl.col("player_id").cast(pl.Int64),
                pl.col("first_date").cast(pl.Date),
                pl.col("last_date").cast(pl.Date),
            ).drop_nulls()
            for pid, first_date, last_date in spans.iter_rows():
                self._activity[pid] = (first_date.toordinal(), last_date.toordinal())
        self._levels_cache: dict[str, list[tuple[int, tuple[int, ...]]]] = {}
        self._parse_cache: dict[str, tuple[tuple[str, ...], list[_Query]]] = {}
        self._fuzzy_cache: dict[str, tuple[int, ...]] = {}
        self._suggest_cache: dict[str, tuple[str, ...]] = {}
        self._suggest_pool: tuple[list[str], list[list[int]]] | None = None
        self._active_surnames: list[str] | None = None

    @classmethod
    def from_db(cls, con: Any, **kwargs: Any) -> NameResolver:
        """Build from a DuckDB connection with tables `players` and `matches`.

        Activity is the first and last tourney_date of each player over winner and loser.
        """
        return cls(history.player_names(con), history.player_activity(con), **kwargs)

    # -- small lookups --------------------------------------------------------------------

    def player_name(self, player_id: int) -> str | None:
        """Display name ("First Last") of a player id, or None when unknown."""
        return self._display.get(player_id)

    def activity(self, player_id: int) -> tuple[dt.date, dt.date] | None:
        """(first, last) match date of a player, or None without recorded matches."""
        span = self._activity.get(player_id)
        if span is None:
            return None
        return dt.date.fromordinal(span[0]), dt.date.fromordinal(span[1])

    def surname_fits(self, name: str, player_id: int) -> bool:
        """Whether `name`'s surname could be `player_id`'s, typos and compounds allowed.

        Weaker than `resolve`: meant for confirming a player already pinned down by other
        evidence (the opponent and week of a match), not for finding one.
        """
        last = self._last.get(player_id)
        if not last:
            return False
        theirs = {_compact(last)} | _surname_parts(last)
        _, queries = self._parsed(name.strip())
        for q in queries:
            ours = {_compact(q.last)} | _surname_parts(q.last)
            if ours & theirs:
                return True
            full = _compact(q.last)
            if any(fuzz.ratio(full, t) >= SURNAME_CUTOFF for t in theirs):
                return True
        return False

    # -- candidate levels -----------------------------------------------------------------

    def _parsed(self, name: str) -> tuple[tuple[str, ...], list[_Query]]:
        """`_parse`, once per distinct name (odds matching asks for the same names often)."""
        found = self._parse_cache.get(name)
        if found is None:
            found = self._parse_cache[name] = _parse(name)
        return found

    def _levels(self, name: str) -> list[tuple[int, tuple[int, ...]]]:
        """(kind, candidate ids) from the best-fitting level to the loosest (no fuzzy)."""
        cached = self._levels_cache.get(name)
        if cached is not None:
            return cached
        tokens, queries = self._parsed(name)
        levels: list[tuple[int, tuple[int, ...]]] = []
        seen: set[int] = set()

        def add(kind: int, ids: Iterable[int]) -> None:
            fresh = tuple(sorted(set(ids) - seen))
            if fresh:
                levels.append((kind, fresh))
                seen.update(fresh)

        if tokens:
            add(_STRICT, self._by_full.get(_compact(tokens), ()))
        for partial in (False, True):
            by_fit: dict[int, set[int]] = defaultdict(set)
            for q in queries:
                for pid in self._surname_candidates(q.last, partial):
                    fit = _first_fit(q, self._first[pid])
                    if fit:
                        by_fit[fit].add(pid)
            for fit in (_FIT_ALL, _FIT_LOOSE, _FIT_LATER):
                if partial:
                    kind = _PARTIAL
                else:
                    kind = _STRICT if fit == _FIT_ALL else _LOOSE
                add(kind, by_fit[fit])
        self._levels_cache[name] = levels
        return levels

    def _surname_candidates(self, last: tuple[str, ...], partial: bool) -> set[int]:
        if not partial:
            return self._by_last.get(_compact(last), set())
        found = set(self._by_part.get(_compact(last), ()))
        for part in _surname_parts(last):  # the query's surname is the longer one
            found |= self._by_last.get(part, set())
            found |= self._by_part.get(part, set())  # "Meligeni Rodrigues" ~ Meligeni Alves
        return found

    def _fuzzy(self, name: str) -> tuple[int, ...]:
        """Players with recorded matches whose surname is a near miss and first name fits."""
        cached = self._fuzzy_cache.get(name)
        if cached is not None:
            return cached
        if self._active_surnames is None:
            self._active_surnames = sorted(
                {_compact(self._last[p]) for p in self._activity if self._last.get(p)}
            )
        _, queries = self._parsed(name)
        found: set[int] = set()
        for q in queries:
            key = _compact(q.last)
            close = process.extract(key, self._active_surnames, scorer=fuzz.ratio,
                                    score_cutoff=SURNAME_CUTOFF, limit=5)
            for surname, _, _ in close:
                for pid in self._by_last.get(surname, ()):
                    if pid in self._activity and _first_fit(q, self._first[pid]):
                        found.add(pid)
        result = tuple(sorted(found))
        self._fuzzy_cache[name] = result
        return result

    def _namesakes(self, name: str) -> tuple[int, ...]:
        """Players sharing a surname reading of `name`, any first name, with recorded matches
        (when activity is known) and a first name on record.

        Exact surnames and parts of compound ones (`Barrios` ~ Tomas Barrios Vera); for a
        bare surname (`Zverev`) the whole name is the surname.
        """
        tokens, queries = self._parsed(name)
        keys = {_compact(q.last) for q in queries}
        if len(tokens) == 1 or not queries:
            keys.add(_compact(tokens))
        found: set[int] = set()
        for key in keys:
            if not key:
                continue
            found |= self._by_last.get(key, set())
            found |= self._by_part.get(key, set())
        played = (lambda p: p in self._activity) if self._activity else (lambda p: True)
        return tuple(sorted(p for p in found if played(p) and self._first.get(p)))

    # -- resolution -----------------------------------------------------------------------

    def _distance(self, pid: int, day: int) -> int | None:
        """Days from `day` to the player's activity span (0 inside); None: no matches."""
        span = self._activity.get(pid)
        if span is None:
            return None
        first, last = span
        return first - day if day < first else day - last if day > last else 0

    def _age(self, pid: int, day: int | None) -> float | None:
        born = self._born.get(pid)
        if born is None or day is None:
            return None
        return (day - born) / 365.25

    def _newcomer_age_ok(self, pid: int, day: int | None) -> bool:
        age = self._age(pid, day)
        return age is None or NEWCOMER_AGES[0] <= age <= NEWCOMER_AGES[1]

    def _returning_age_ok(self, pid: int, day: int | None) -> bool:
        age = self._age(pid, day)
        return age is None or age <= RETURNING_MAX_AGE

    def _active(self, ids: Iterable[int], day: int) -> tuple[list[int], dict[int, int | None]]:
        dist = {pid: self._distance(pid, day) for pid in ids}
        return [p for p, d in dist.items() if d is not None and d <= self.margin], dist

    def _span_text(self, pid: int) -> str:
        span = self.activity(pid)
        return f"{span[0]} to {span[1]}" if span else "none"

    def resolve(self, name: str, on: dt.date | None = None) -> Resolution:
        """Resolve one name, using activity around `on` (a match date) to split namesakes.

        Never guesses: several equally fitting players that activity does not tell apart
        give "ambiguous" with their ids; a pick that deserves a second look (long absence,
        a different first name, a bare surname, a typo, no recorded match) is flagged.
        """
        key = name.strip() if isinstance(name, str) else ""
        tokens = self._parsed(key)[0] if key else ()
        if len(tokens) == 1:
            return self._resolve_surname(name, key, on)
        levels = self._levels(key) if key else []
        if not self._activity:
            if not levels:
                return self._unknown(name, key, ())
            return self._pick(name, levels[0][1])
        day = on.toordinal() if on is not None else None
        if day is None:
            for _, ids in levels:
                if any(pid in self._activity for pid in ids):
                    return self._pick(name, ids)
            return self._no_fit_active(name, key, levels, None)
        # a. the first level holding an active player decides
        for _, ids in levels:
            active, dist = self._active(ids, day)
            if len(active) == 1:
                return self._chosen(name, on, active[0], ids, "the only fit active then")
            if active:
                inside = [p for p in active if dist[p] == 0]
                if len(inside) == 1:
                    return self._chosen(name, on, inside[0], ids,
                                        "the only fit who played before and after then")
                return Resolution(name, None, AMBIGUOUS, tuple(sorted(active)))
        return self._no_fit_active(name, key, levels, day)

    def _no_fit_active(
        self, name: str, key: str, levels: list[tuple[int, tuple[int, ...]]], day: int | None
    ) -> Resolution:
        """Steps b-f of the module docstring: nobody fitting the name was active then."""
        on = dt.date.fromordinal(day) if day is not None else None
        fits = [pid for _, ids in levels for pid in ids]
        # b. a known player back after a long absence (or before his first recorded match)
        for _, ids in levels:
            known = [p for p in ids if p in self._activity and self._returning_age_ok(p, day)]
            if known and day is not None:
                # the name says one player, the date another: not ours to choose
                active, _ = self._active(self._namesakes(key), day)
                known += [p for p in active if p not in known]
            if len(known) > 1:
                return Resolution(name, None, AMBIGUOUS, tuple(sorted(known)))
            if known:
                pid = known[0]
                first, last = self._activity[pid]
                flag = BEFORE_FIRST_MATCH if day is not None and day < first else LONG_ABSENCE
                when = dt.date.fromordinal(first if flag == BEFORE_FIRST_MATCH else last)
                note = (f"first recorded match {when}" if flag == BEFORE_FIRST_MATCH
                        else f"long absence: last recorded match {when}")
                return self._chosen(name, on, pid, ids, note, flag)
        if day is None:
            return self._unknown(name, key, fits)
        # c. a typo of an active player's surname
        typos, _ = self._active(self._fuzzy(key), day)
        if len(typos) == 1:
            return self._chosen(name, on, typos[0], tuple(typos),
                                f"surname typo of {self._display[typos[0]]}", SURNAME_TYPO)
        if typos:
            return Resolution(name, None, AMBIGUOUS, tuple(sorted(typos)))
        # d. an active namesake beats any player without recorded matches
        namesakes, _ = self._active(self._namesakes(key), day)
        if len(namesakes) == 1:
            pid = namesakes[0]
            others = [self._display[p] for p in fits if p != pid]
            note = (f"first name differs: {self._display[pid]} is the only player of that "
                    f"surname active then")
            if others:
                note += f" ({', '.join(others[:3])} fit the name but never played then)"
            return self._chosen(name, on, pid, (pid, *fits), note, FIRST_NAME_DIFFERS)
        if namesakes:
            return Resolution(name, None, AMBIGUOUS, tuple(sorted(namesakes)))
        # e. a newcomer: a strict fit without recorded matches, of playing age
        for kind, ids in levels:
            if kind != _STRICT:
                break
            fresh = [p for p in ids if p not in self._activity and self._newcomer_age_ok(p, day)]
            if len(fresh) == 1:
                return self._chosen(name, on, fresh[0], ids, "no recorded match yet",
                                    NO_RECORDED_MATCHES)
            if fresh:
                return Resolution(name, None, AMBIGUOUS, tuple(sorted(fresh)))
        return self._unknown(name, key, fits)

    def _resolve_surname(self, name: str, key: str, on: dt.date | None) -> Resolution:
        """A bare surname: resolved only when one player of that surname fits the date."""
        namesakes = self._namesakes(key)
        exact = [p for p in namesakes if _compact(self._last[p]) == _compact(_tokens(key))]
        pool = exact or list(namesakes)
        if on is None or not self._activity:
            if len(pool) == 1:
                return self._chosen(name, on, pool[0], tuple(pool), "bare surname",
                                    SURNAME_ONLY)
            if pool:
                return Resolution(name, None, AMBIGUOUS, tuple(pool))
            return self._unknown(name, key, ())
        day = on.toordinal()
        active, dist = self._active(pool, day)
        if len(active) == 1:
            return self._chosen(name, on, active[0], tuple(pool),
                                "bare surname: the only player of that surname active then",
                                SURNAME_ONLY)
        if active:
            return Resolution(name, None, AMBIGUOUS, tuple(sorted(active)))
        if len(pool) > 1:
            return Resolution(name, None, AMBIGUOUS, tuple(sorted(pool)))
        if pool and self._returning_age_ok(pool[0], day):
            return self._chosen(name, on, pool[0], tuple(pool),
                                f"bare surname; long absence: recorded {self._span_text(pool[0])}",
                                SURNAME_ONLY, LONG_ABSENCE)
        return self._unknown(name, key, pool)

    def _chosen(
        self, name: str, on: dt.date | None, pid: int, considered: Iterable[int], why: str,
        *flags: str,
    ) -> Resolution:
        """A resolved name; a pick among several candidates or a flagged one is logged."""
        others = tuple(sorted(set(considered) - {pid}))
        if others or flags:
            listed = ", ".join(f"{p} {self._display.get(p, '?')} (matches: {self._span_text(p)})"
                               for p in (pid, *others))
            log.info("name %r on %s -> %s %s: %s; candidates: %s", name, on or "any date", pid,
                     self._display.get(pid, "?"), why, listed)
        note = why if flags else ""
        return Resolution(name, pid, RESOLVED, others, (), tuple(flags), note)

    @staticmethod
    def _pick(name: str, ids: tuple[int, ...]) -> Resolution:
        if len(ids) == 1:
            return Resolution(name, ids[0], RESOLVED)
        return Resolution(name, None, AMBIGUOUS, tuple(sorted(ids)))

    def _unknown(self, name: str, key: str, fits: Sequence[int]) -> Resolution:
        """Unknown; suggestions list fitting-but-inactive players first, then near names."""
        recent = sorted(fits, key=lambda p: -self._activity.get(p, (0, 0))[1])
        names: list[str] = []
        for display in [self._display[p] for p in recent] + list(self.suggest(key)):
            if display not in names:
                names.append(display)
        return Resolution(name, None, UNKNOWN, (), tuple(names[:3]))

    def resolve_many(
        self, names: Sequence[str], on: Sequence[dt.date | None] | None = None
    ) -> list[Resolution]:
        """Resolve a batch; repeated (name, date) pairs are resolved once."""
        dates: Sequence[dt.date | None] = on if on is not None else [None] * len(names)
        if len(dates) != len(names):
            raise ValueError("names and dates differ in length")
        memo: dict[tuple[str, dt.date | None], Resolution] = {}
        out = []
        for n, d in zip(names, dates, strict=True):
            r = memo.get((n, d))
            if r is None:
                r = memo[(n, d)] = self.resolve(n, d)
            out.append(r)
        return out

    # -- suggestions ----------------------------------------------------------------------

    def suggest(self, name: str, n: int = 3) -> tuple[str, ...]:
        """Up to `n` display names close to `name` (either name form), recent players first."""
        key = normalize(name)
        if not key:
            return ()
        cached = self._suggest_cache.get(key)
        if cached is None:
            cached = self._suggest_cache[key] = self._compute_suggestions(key)
        return cached[:n]

    def _compute_suggestions(self, key: str) -> tuple[str, ...]:
        """Closest forms ("first last", "last first", "last f") over all players, by rapidfuzz
        ratio; no first-letter buckets, so a typo in the first letter (`Zinner`) is caught."""
        if self._suggest_pool is None:
            pool: dict[str, list[int]] = defaultdict(list)
            for pid, first in self._first.items():
                last = self._last[pid]
                forms = {" ".join(first + last), " ".join(last + first)}
                if first:
                    forms.add(" ".join((*last, *(f[0] for f in first))))
                for form in forms:
                    if form:
                        pool[form].append(pid)
            self._suggest_pool = (list(pool), list(pool.values()))
        forms, ids = self._suggest_pool
        close = process.extract(key, forms, scorer=fuzz.ratio, score_cutoff=SUGGEST_CUTOFF,
                                limit=10)
        ranked = sorted(
            (
                -round(score, 1),
                -self._activity.get(pid, (0, 0))[1],  # equally close: most recent first
                self._display[pid],
            )
            for _, score, index in close
            for pid in ids[index]
        )
        names: list[str] = []
        for _, _, display in ranked:
            if display not in names:
                names.append(display)
        return tuple(names[:3])
