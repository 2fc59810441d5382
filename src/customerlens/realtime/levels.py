"""The trained match model, evaluated in Python for one record at a time.

Why by hand: Splink 5 scores a single pair in about 20 ms on DuckDB, nearly all of it spent
planning the SQL (measured, ``docs/notes/splink5.md`` section g), which is the whole budget of
a match at 200 matches per second on 2 cores. So the comparison levels of the *trained* model are
compiled once from their own SQL conditions (parsed with sqlglot, which Splink itself uses) into
Python predicates, and the weights come from Splink's own settings object (its defaults for
levels EM never saw included). ``tests/realtime/test_parity.py`` checks the result against
Splink's batch scores pair by pair.

Only the SQL our comparisons use is supported (comparisons, AND / OR / NOT with SQL's NULL
logic, Jaro-Winkler, (Damerau-)Levenshtein, substrings, list membership and intersection, date
differences in seconds, regexp_replace);
anything else raises ``UnsupportedCondition`` when the model is loaded, never a wrong score at
run time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlglot
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein
from splink.internals.settings_creator import SettingsCreator
from sqlglot import exp

from customerlens.errors import CustomerLensError

#: a record as a dict of standardised columns (``first_name``, ``postcode_outward``...)
Record = dict[str, Any]
#: (left record, right record) -> True / False / None (SQL's NULL)
Predicate = Callable[[Record, Record], Any]


class UnsupportedCondition(CustomerLensError):
    """A comparison level's SQL uses something the Python evaluator does not know."""


def _and(*values: Any) -> Any:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(*values: Any) -> Any:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _null_safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    """SQL semantics: any NULL argument makes the result NULL."""

    def wrapped(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        return fn(*args)

    return wrapped


_COMPARE: dict[type[exp.Expression], Callable[[Any, Any], bool]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
}


def _substr(text: str, start: int, length: int | None = None) -> str:
    begin = start - 1 if start > 0 else max(len(text) + start, 0)
    return text[begin:] if length is None else text[begin : begin + length]


_FUNCTIONS: dict[type[exp.Expression], Callable[..., Any]] = {
    # DuckDB scores two empty strings 0, rapidfuzz 1 (found by the property test)
    exp.JarowinklerSimilarity: lambda a, b: JaroWinkler.similarity(a, b) if a and b else 0.0,
    exp.Levenshtein: lambda a, b: Levenshtein.distance(a, b),
    exp.Length: len,
    exp.Left: lambda s, n: s[: max(n, 0)],
    exp.Right: lambda s, n: s[-n:] if n > 0 else "",
    exp.Contains: lambda s, sub: sub in s,
    exp.ArrayContains: lambda values, item: item in values,
    exp.ArraySize: len,
    # dates (Splink's AbsoluteDateDifferenceLevel): |epoch(l) - epoch(r)| <= seconds
    exp.Abs: abs,
    exp.Sub: lambda a, b: a - b,
    exp.TimeToUnix: lambda moment: moment.replace(tzinfo=UTC).timestamp(),
}


def _try_strptime(text: str, fmt: str) -> datetime | None:
    """DuckDB's ``try_strptime``: the parsed timestamp, NULL when the text does not parse."""
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        return None


_ANONYMOUS: dict[str, Callable[..., Any]] = {
    "list_intersect": lambda a, b: list(set(a) & set(b)),
    "array_intersect": lambda a, b: list(set(a) & set(b)),
    "damerau_levenshtein": lambda a, b: DamerauLevenshtein.distance(a, b),
    "try_strptime": _try_strptime,
}


def compile_condition(sql: str) -> Predicate:
    """A Python predicate for one Splink level condition (``ELSE`` is always true)."""
    if sql.strip().upper() == "ELSE":
        return lambda _l, _r: True
    parsed: Any = sqlglot.parse_one(sql, read="duckdb")
    return _compile(parsed, sql)


def _compile(node: exp.Expression, sql: str) -> Predicate:  # noqa: C901 - one branch per node
    if isinstance(node, exp.Paren):
        return _compile(node.this, sql)
    if isinstance(node, exp.And | exp.Or):
        left, right = _compile(node.this, sql), _compile(node.expression, sql)
        combine = _and if isinstance(node, exp.And) else _or
        return lambda l_, r_: combine(left(l_, r_), right(l_, r_))
    if isinstance(node, exp.Not):
        inner = _compile(node.this, sql)
        return lambda l_, r_: (lambda v: None if v is None else not v)(inner(l_, r_))
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        operand = _compile(node.this, sql)
        return lambda l_, r_: operand(l_, r_) is None
    if type(node) in _COMPARE:
        op = _null_safe(_COMPARE[type(node)])
        left, right = _compile(node.this, sql), _compile(node.expression, sql)
        return lambda l_, r_: op(left(l_, r_), right(l_, r_))
    if isinstance(node, exp.Column):
        name = node.name
        if name.endswith("_l"):
            column = name[:-2]
            return lambda l_, _r: l_.get(column)
        if name.endswith("_r"):
            column = name[:-2]
            return lambda _l, r_: r_.get(column)
        raise UnsupportedCondition(f"column {name!r} is neither _l nor _r in: {sql}")
    if isinstance(node, exp.Literal):
        literal: Any = node.this if node.is_string else _number(node.this)
        return lambda _l, _r: literal
    if isinstance(node, exp.Null):
        return lambda _l, _r: None
    if isinstance(node, exp.Boolean):
        truth = node.this
        return lambda _l, _r: truth
    if isinstance(node, exp.Substring):
        text, start = _compile(node.this, sql), _compile(node.args["start"], sql)
        length = node.args.get("length")
        size = _compile(length, sql) if length is not None else None
        fn = _null_safe(_substr)
        if size is None:
            return lambda l_, r_: fn(text(l_, r_), start(l_, r_))
        return lambda l_, r_: fn(text(l_, r_), start(l_, r_), size(l_, r_))
    if isinstance(node, exp.RegexpReplace):
        # DuckDB replaces the first match unless the options hold "g"; the patterns our levels
        # use ("[^0-9]") mean the same in RE2 and in Python's re
        text, pattern = _compile(node.this, sql), _compile(node.expression, sql)
        replacement = _compile(node.args["replacement"], sql)
        options = node.args.get("modifiers")
        flags = _compile(options, sql) if options is not None else (lambda _l, _r: "")
        sub = _null_safe(lambda t, p, r, o: re.sub(p, r, t, count=0 if "g" in o else 1))
        return lambda l_, r_: sub(text(l_, r_), pattern(l_, r_), replacement(l_, r_), flags(l_, r_))
    if type(node) in _FUNCTIONS:
        fn = _null_safe(_FUNCTIONS[type(node)])
        args = [_compile(a, sql) for a in (node.this, node.expression) if a is not None]
        return lambda l_, r_: fn(*(a(l_, r_) for a in args))
    if isinstance(node, exp.Anonymous) and node.name.lower() in _ANONYMOUS:
        fn = _null_safe(_ANONYMOUS[node.name.lower()])
        args = [_compile(a, sql) for a in node.expressions]
        return lambda l_, r_: fn(*(a(l_, r_) for a in args))
    raise UnsupportedCondition(f"{type(node).__name__} ({node.sql()}) in: {sql}")


def _number(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number


@dataclass
class Level:
    """One comparison level: its gamma, its predicate and the weight it adds."""

    gamma: int
    label: str
    predicate: Predicate
    weight: float  # log2 Bayes factor; 0 for null levels
    is_null: bool
    #: term-frequency adjustment: (column, weight, log2 u of the exact level, minimum u)
    tf: tuple[str, float, float, float] | None = None


@dataclass
class Comparison:
    name: str
    levels: list[Level] = field(default_factory=list)


@dataclass
class FieldResult:
    """How one comparison came out for a pair."""

    field: str
    gamma: int
    label: str
    weight: float  # the level's weight plus its term-frequency adjustment


@dataclass
class PairScore:
    match_weight: float
    match_probability: float
    fields: list[FieldResult]

    def gamma(self, name: str) -> int | None:
        return next((f.gamma for f in self.fields if f.field == name), None)

    def weight(self, name: str) -> float:
        return next((f.weight for f in self.fields if f.field == name), 0.0)


class CompiledModel:
    """A trained Splink model (its settings dict) that scores pairs of records in Python.

    ``tf`` maps a term-frequency column to a function giving a value's relative frequency in
    the data the model was trained on (``None`` when unknown), as Splink's TF tables do.
    """

    def __init__(self, model: dict[str, Any]) -> None:
        settings = SettingsCreator.from_path_or_dict(model).get_settings("duckdb")
        prior = settings._probability_two_random_records_match
        self.prior_weight = math.log2(prior / (1 - prior))
        self.comparisons: list[Comparison] = []
        for comparison in settings.comparisons:
            compiled = Comparison(comparison.output_column_name)
            levels = comparison.comparison_levels
            for level in levels:
                tf = None
                if not level.is_null_level and level._has_tf_adjustments:
                    u_exact = level._u_probability_corresponding_to_exact_match(levels)
                    tf = (
                        level._tf_adjustment_input_column.unquote().name,
                        float(level._tf_adjustment_weight),
                        math.log2(u_exact),
                        float(level._tf_minimum_u_value),
                    )
                compiled.levels.append(
                    Level(
                        gamma=level.comparison_vector_value,
                        label=level.label_for_charts,
                        predicate=compile_condition(level.sql_condition),
                        weight=0.0 if level.is_null_level else level._log2_bayes_factor,
                        is_null=level.is_null_level,
                        tf=tf,
                    )
                )
            self.comparisons.append(compiled)
        self.tf_columns = sorted(
            {lv.tf[0] for c in self.comparisons for lv in c.levels if lv.tf is not None}
        )

    def score(
        self,
        left: Record,
        right: Record,
        tf: Callable[[str, Record], float | None] | None = None,
    ) -> PairScore:
        """Score one pair; ``tf(column, record)`` gives a record's term frequency."""
        fields = [
            found
            for comparison in self.comparisons
            if (found := self.compare(comparison, left, right, tf)) is not None
        ]
        total = self.prior_weight
        for found in fields:
            total += found.weight
        return PairScore(total, probability_from_weight(total), fields)

    @staticmethod
    def compare(
        comparison: Comparison,
        left: Record,
        right: Record,
        tf: Callable[[str, Record], float | None] | None = None,
    ) -> FieldResult | None:
        """The level one comparison reaches for a pair, and its weight."""
        for level in comparison.levels:
            if level.predicate(left, right) is True:
                weight = level.weight
                if level.tf is not None and tf is not None:
                    weight += _tf_adjustment(level.tf, tf, left, right)
                return FieldResult(comparison.name, level.gamma, level.label, weight)
        return None


def _tf_adjustment(
    spec: tuple[str, float, float, float],
    tf: Callable[[str, Record], float | None],
    left: Record,
    right: Record,
) -> float:
    column, weight, log2_u_exact, minimum = spec
    values = [v for v in (tf(column, left), tf(column, right)) if v is not None]
    if not values:
        return 0.0
    return weight * (log2_u_exact - math.log2(max(*values, minimum)))


def probability_from_weight(weight: float) -> float:
    """A match weight (log2 odds) as a probability, safe for any weight."""
    if weight > 60:
        return 1.0
    odds = 2.0**weight
    return odds / (1 + odds)
