"""Default assumptions (CDR, MDR, SDA; constant, ramp, vector), loss severity, recovery lag and
servicer advancing, and the text a structurer types for them.

Conventions (SIFMA Uniform Practices, chapter SF, the standard default assumption):
- CDR and MDR are to defaults what CPR and SMM are to prepayments: MDR = 1 - (1 - CDR)^(1/12)
  (engine/defaults.py: mdr_from_cdr).
- 100 SDA: CDR 0.02% x AGE up to 0.60% at AGE 30, flat to AGE 60, then down 0.0095% a month to
  0.03% at AGE 120, flat after; n SDA is n/100 times that. AGE counts from each pool's own loan
  age, as PSA's does (engine/defaults.py computes it).
- No new defaults in the last `lag` months of the loans' remaining term (a loan defaulting then
  would reach its maturity before it could be liquidated); this holds for every rate unit.
- Ramps and vectors follow prepayment's conventions exactly (model/prepayment.py): a ramp moves
  in equal monthly steps from projection month 1 to month (months + 1); a vector's last rate
  holds. Their paths are computed by the same code.
- Loss severity is a share of the defaulted balance, applied in the month of liquidation (a
  vector is indexed by that month, its last value held).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import InputError
from .prepayment import Prepayment

RATE_UNITS = ("CDR", "MDR", "SDA")

# As for PSA: a multiple of SDA has no natural ceiling, but its CDR is capped at 100% (any speed
# above about 16,667 SDA is 100 CDR from month 30); a larger figure than this is a typo.
MAX_SDA = 100_000.0

# The longest term a pool may have (check/context.py's MAX_TERM): a lag beyond it is a typo.
MAX_LAG = 600


def _fmt(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class DefaultRate:
    """One default-rate assumption: rates per projection month in one unit (CDR, MDR or SDA)."""

    unit: str
    kind: str  # "constant" | "ramp" | "vector"
    values: tuple[float, ...]
    months: int = 0

    @classmethod
    def constant(cls, value: float, unit: str) -> DefaultRate:
        validate_rate(value, unit)
        return cls(unit, "constant", (float(value),))

    @classmethod
    def ramp(cls, start: float, end: float, months: int, unit: str) -> DefaultRate:
        validate_rate(start, unit)
        validate_rate(end, unit)
        if int(months) < 1:
            raise InputError("a ramp lasts at least one month")
        return cls(unit, "ramp", (float(start), float(end)), int(months))

    @classmethod
    def vector(cls, values: list[float] | tuple[float, ...], unit: str) -> DefaultRate:
        if not values:
            raise InputError("a vector of default rates needs at least one rate")
        for v in values:
            validate_rate(v, unit)
        return cls(unit, "vector", tuple(float(v) for v in values))

    @property
    def description(self) -> str:
        return self._as_speed().description

    @property
    def is_zero(self) -> bool:
        return all(v == 0 for v in self.values)

    def path(self, periods: int) -> np.ndarray:
        """The rate in this assumption's unit for projection months 1..periods."""
        return self._as_speed().path(periods)

    def _as_speed(self) -> Prepayment:
        # The same shape of path as a prepayment speed: one code for ramps and vectors.
        return Prepayment(self.unit, self.kind, self.values, self.months)


@dataclass(frozen=True)
class Severity:
    """Loss severity: percent of the defaulted balance lost at liquidation, constant or by month."""

    kind: str  # "constant" | "vector"
    values: tuple[float, ...]  # percent, 0-100

    @classmethod
    def constant(cls, percent: float) -> Severity:
        validate_severity(percent)
        return cls("constant", (float(percent),))

    @classmethod
    def vector(cls, percents: list[float] | tuple[float, ...]) -> Severity:
        if not percents:
            raise InputError("a vector of severities needs at least one severity")
        for p in percents:
            validate_severity(p)
        return cls("vector", tuple(float(p) for p in percents))

    @property
    def description(self) -> str:
        if self.kind == "constant":
            return f"severity {_fmt(self.values[0])}%"
        return "severity vector(" + ", ".join(_fmt(v) for v in self.values) + "%)"

    def fractions(self, periods: int) -> np.ndarray:
        """Severity as a decimal for the liquidations of projection months 1..periods."""
        return Prepayment("CPR", self.kind, self.values).path(periods) / 100.0


@dataclass(frozen=True)
class Delinquency:
    """Loans 60 or more days delinquent, as a percent of the collateral balance, constant or by
    projection month (a vector's last value held). An assumption, not projected: the standard
    default formulas move loans from performing to defaulted directly, so the delinquency a
    trigger tests is given with the scenario, as a desk gives it."""

    kind: str  # "constant" | "vector"
    values: tuple[float, ...]  # percent, 0-100

    @classmethod
    def constant(cls, percent: float) -> Delinquency:
        validate_delinquency(percent)
        return cls("constant", (float(percent),))

    @classmethod
    def vector(cls, percents: list[float] | tuple[float, ...]) -> Delinquency:
        if not percents:
            raise InputError("a vector of delinquencies needs at least one percentage")
        for p in percents:
            validate_delinquency(p)
        return cls("vector", tuple(float(p) for p in percents))

    @property
    def description(self) -> str:
        if self.kind == "constant":
            return f"delinquency {_fmt(self.values[0])}%"
        return "delinquency vector(" + ", ".join(_fmt(v) for v in self.values) + "%)"

    def fractions(self, periods: int) -> np.ndarray:
        """The delinquent share as a decimal for projection months 1..periods."""
        return Prepayment("CPR", self.kind, self.values).path(periods) / 100.0


@dataclass(frozen=True)
class DefaultAssumption:
    """A whole default scenario: the rate, the loss severity, the recovery lag in months, and
    whether the servicer advances delinquent principal and interest."""

    rate: DefaultRate
    severity: Severity = field(default_factory=lambda: Severity.constant(0.0))
    lag: int = 0
    advancing: bool = True
    name: str | None = field(default=None, compare=False)
    # Not in the repr: an assumption without it prints as it always has (its description says it).
    delinquency: Delinquency | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        validate_lag(self.lag)

    def named(self, name: str) -> DefaultAssumption:
        """The same assumption under a scenario name, which then labels its results."""
        if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
            raise InputError(f"the scenario name {name!r} holds a control character")
        return replace(self, name=name)

    @property
    def label(self) -> str:
        return self.name or self.description

    @property
    def description(self) -> str:
        advance = "advance on" if self.advancing else "advance off"
        text = f"{self.rate.description} {self.severity.description} lag {self.lag} {advance}"
        return f"{text} {self.delinquency.description}" if self.delinquency is not None else text


# ---- validation in the domain's words (the deal checker reuses these and adds the position)


def validate_rate(value: float, unit: str) -> None:
    """Raise InputError for a default rate no pool can default at."""
    if unit not in RATE_UNITS:
        raise InputError(f"'{unit}' is not a default rate unit; write CDR, MDR or SDA")
    if not math.isfinite(value):
        raise InputError(f"'{value} {unit}' is not a default rate: the rate must be a finite number")
    if value < 0:
        raise InputError(f"a default rate cannot be negative ({_fmt(value)} {unit})")
    if unit in ("CDR", "MDR") and value > 100:
        raise InputError(f"{_fmt(value)} {unit} is more than 100%: no more than every loan can default")
    if unit == "SDA" and value > MAX_SDA:
        raise InputError(f"{_fmt(value)} SDA is not a plausible default rate (at most {MAX_SDA:,.0f} SDA; "
                         "every rate above about 16,667 SDA is already 100 CDR from month 30)")


def validate_severity(percent: float) -> None:
    """Raise InputError for a loss severity outside 0-100%."""
    if not math.isfinite(percent):
        raise InputError(f"'{percent}' is not a loss severity: a severity is a finite percentage")
    if percent < 0:
        raise InputError(f"a loss severity cannot be negative ({_fmt(percent)}%)")
    if percent > 100:
        raise InputError(f"a loss severity of {_fmt(percent)}% is more than 100%: a liquidation cannot "
                         "lose more than the defaulted balance")


def validate_delinquency(percent: float) -> None:
    """Raise InputError for a delinquent share outside 0-100% of the balance."""
    if not math.isfinite(percent) or percent < 0 or percent > 100:
        raise InputError(f"a delinquency of {_fmt(percent)}% is not a share of the balance: give a "
                         "percentage from 0% to 100%")


def validate_lag(months: int, term: int | None = None) -> None:
    """Raise InputError for a recovery lag that is not a whole number of months within the term."""
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)):
        raise InputError(f"a recovery lag is a whole number of months, not {months!r}")
    if months < 0:
        raise InputError(f"a recovery lag cannot be negative ({months} months)")
    limit = MAX_LAG if term is None else term
    if months > limit:
        what = "the loans' term" if term is not None else "any mortgage term"
        raise InputError(f"a recovery lag of {months} months is longer than {what} ({limit} months): "
                         "the defaulted loans would never be liquidated")


def validate_defaults(assumption: DefaultAssumption, term: int | None = None) -> DefaultAssumption:
    """Every rate, severity and the lag of an assumption validated (for objects the API is given,
    which may have been built without the checking constructors)."""
    if assumption.rate.kind not in ("constant", "ramp", "vector") or not assumption.rate.values:
        raise InputError(f"'{assumption.rate.kind}' is not a kind of default rate; write a constant, "
                         "a ramp or a vector")
    for value in assumption.rate.values:
        validate_rate(value, assumption.rate.unit)
    for percent in assumption.severity.values:
        validate_severity(percent)
    for percent in (assumption.delinquency.values if assumption.delinquency is not None else ()):
        validate_delinquency(percent)
    validate_lag(assumption.lag, term)
    return assumption


# ---- text: "100 SDA", "2 CDR ramp to 6 CDR over 24 months", "vector(1, 2, 3 CDR)",
# ---- "severity 35%", "severity vector(20, 30, 40%)", "lag 12", "advance on|off", or all in one line

_TOKEN = re.compile(r"\s*(?:(?P<num>[+-]?(?:[0-9][0-9_]*(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?)"
                    r"|(?P<word>[A-Za-z]+)|(?P<sym>[%(),])|(?P<bad>\S))", re.IGNORECASE)


_KEYWORDS = ("ramp", "severity", "lag", "advance", "advancing", "delinquency")


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num" | "word" | "sym" | "bad" | "end"
    text: str
    start: int  # 0-based column in the text
    end: int


def _tokens(text: str) -> list[_Tok]:
    out = []
    pos = 0
    while True:
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        kind = m.lastgroup or "bad"
        out.append(_Tok(kind, m.group(kind), m.start(kind), m.end(kind)))
        pos = m.end()
    out.append(_Tok("end", "", len(text.rstrip()), len(text.rstrip()) + 1))
    return out


def _positioned(message: str, text: str, start: int, end: int) -> InputError:
    """The message with the text under it and a caret at the culprit, as the deal's errors show."""
    width = max(end - start, 1)
    return InputError(f"{message}\n  {text}\n  {' ' * start}{'^' * width}")


class _Reader:
    """Recursive descent over the tokens of one assumption text; errors point at a token."""

    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def fail(self, message: str, start: _Tok | None = None, end: _Tok | None = None) -> InputError:
        first = start or self.tok
        last = end or first
        return _positioned(message, self.text, first.start, last.end)

    def word(self, *words: str) -> bool:
        if self.tok.kind == "word" and self.tok.text.lower() in words:
            self.i += 1
            return True
        return False

    def sym(self, s: str) -> bool:
        if self.tok.kind == "sym" and self.tok.text == s:
            self.i += 1
            return True
        return False

    def expect_sym(self, s: str, what: str) -> None:
        if not self.sym(s):
            raise self.fail(f"expected '{s}' {what}")

    def number(self, what: str) -> tuple[float, _Tok]:
        tok = self.tok
        if tok.kind == "word" and tok.text.lower() in ("nan", "inf", "infinity"):
            raise self.fail(f"{what} is a finite number, not '{tok.text}'")
        if tok.kind != "num":
            shown = f"'{tok.text}'" if tok.kind != "end" else "the end"
            raise self.fail(f"expected {what} (a number), found {shown}")
        self.i += 1
        return float(tok.text.replace("_", "")), tok

    def rate_unit(self) -> tuple[str | None, _Tok]:
        tok = self.tok
        if tok.kind == "word" and tok.text.upper() in RATE_UNITS:
            self.i += 1
            return tok.text.upper(), tok
        return None, tok

    def checked(self, check: Callable[..., None], *args: object, start: _Tok, end: _Tok) -> None:
        try:
            check(*args)
        except InputError as exc:
            raise _positioned(str(exc), self.text, start.start, end.end) from None

    # -- the pieces

    def rate(self, unit: str | None = None) -> DefaultRate:
        if self.word("vector"):
            return self.rate_vector()
        value, vtok = self.number("a default rate")
        got, utok = self.rate_unit()
        if got is None and unit is None and utok.kind == "word" and utok.text.lower() not in _KEYWORDS:
            raise self.fail(f"'{utok.text}' is not a default rate unit; write CDR, MDR or SDA", utok)
        if got is None and unit is None:
            raise self.fail("a default rate needs its unit: write it like '100 SDA', '2 CDR' or "
                            "'0.5 MDR'", vtok, utok if utok.kind == "word" else vtok)
        unit = got or unit or ""
        self.checked(validate_rate, value, unit, start=vtok, end=utok if got else vtok)
        if not self.word("ramp"):
            return DefaultRate.constant(value, unit)
        if not self.word("to"):
            raise self.fail("expected 'to' after 'ramp': write it like '2 CDR ramp to 6 CDR over 24 months'")
        end_value, etok = self.number("the rate the ramp ends at")
        end_unit, eutok = self.rate_unit()
        end_unit = end_unit or unit
        if end_unit != unit:
            raise self.fail(f"a ramp must start and end in the same unit (it starts in {unit} and ends in "
                            f"{end_unit})", etok, eutok)
        self.checked(validate_rate, end_value, unit, start=etok, end=etok)
        if not self.word("over"):
            raise self.fail("expected 'over' and the ramp's length: write it like '2 CDR ramp to 6 CDR "
                            "over 24 months'")
        months, mtok = self.number("the ramp's length in months")
        self.word("months", "month")
        if months != int(months) or months < 1:
            raise self.fail("a ramp lasts a whole number of months, at least one", mtok)
        return DefaultRate.ramp(value, end_value, int(months), unit)

    def rate_vector(self) -> DefaultRate:
        open_tok = self.tok
        self.expect_sym("(", "after 'vector': write it like 'vector(1, 2, 3 CDR)'")
        found: list[tuple[float, _Tok]] = []
        unit = None
        while True:
            found.append(self.number("a default rate"))
            got, utok = self.rate_unit()
            if got is not None:
                if unit is not None and got != unit:
                    raise self.fail("every rate in a vector must be in one unit", utok)
                unit = got
            if self.sym(")"):
                break
            self.expect_sym(",", "between the rates of a vector")
        if unit is None:
            raise self.fail("a vector needs its unit after the last rate: write it like "
                            "'vector(1, 2, 3 CDR)'", open_tok, self.toks[self.i - 1])
        for value, tok in found:
            self.checked(validate_rate, value, unit, start=tok, end=tok)
        return DefaultRate.vector([v for v, _ in found], unit)

    def percent(self, what: str) -> tuple[float, _Tok]:
        value, tok = self.number(what)
        self.sym("%")
        return value, tok

    def severity(self) -> Severity:
        if self.word("vector"):
            self.expect_sym("(", "after 'vector': write it like 'severity vector(20, 30, 40%)'")
            found = [self.percent("a loss severity")]
            while not self.sym(")"):
                self.expect_sym(",", "between the severities of a vector")
                found.append(self.percent("a loss severity"))
            for value, tok in found:
                self.checked(validate_severity, value, start=tok, end=tok)
            return Severity.vector([v for v, _ in found])
        value, tok = self.percent("a loss severity")
        self.checked(validate_severity, value, start=tok, end=tok)
        return Severity.constant(value)

    def delinquency(self) -> Delinquency:
        if self.word("vector"):
            self.expect_sym("(", "after 'vector': write it like 'delinquency vector(2, 3, 4%)'")
            found = [self.percent("a delinquency")]
            while not self.sym(")"):
                self.expect_sym(",", "between the percentages of a vector")
                found.append(self.percent("a delinquency"))
            for value, tok in found:
                self.checked(validate_delinquency, value, start=tok, end=tok)
            return Delinquency.vector([v for v, _ in found])
        value, tok = self.percent("a delinquency")
        self.checked(validate_delinquency, value, start=tok, end=tok)
        return Delinquency.constant(value)

    def lag(self, term: int | None) -> int:
        value, tok = self.number("the recovery lag in months")
        self.word("months", "month")
        if value != int(value):
            raise self.fail(f"a recovery lag is a whole number of months, not {_fmt(value)}", tok)
        self.checked(validate_lag, int(value), term, start=tok, end=tok)
        return int(value)

    def advancing(self) -> bool:
        if self.word("on", "yes", "true"):
            return True
        if self.word("off", "no", "false"):
            return False
        raise self.fail("servicer advancing is 'on' or 'off'")

    def finish(self) -> None:
        if self.tok.kind != "end":
            raise self.fail(f"unexpected '{self.tok.text}' after the assumption")


def parse_default_rate(text: str | DefaultRate, unit: str | None = None) -> DefaultRate:
    """'100 SDA', '2 CDR', '0.5 MDR', '2 CDR ramp to 6 CDR over 24 months', 'vector(1, 2, 3 CDR)'
    -> a DefaultRate; a bare number takes `unit` (a command line's --cdr 2)."""
    if isinstance(text, DefaultRate):
        return text
    reader = _Reader(str(text))
    got = reader.rate(unit)
    reader.finish()
    return got


def parse_severity(text: str | float | Severity) -> Severity:
    """'35%', '35', 'severity 35%', 'vector(20, 30, 40%)' -> a Severity (percent of the defaulted
    balance); a number is a percentage (35 is 35%)."""
    if isinstance(text, Severity):
        return text
    reader = _Reader(str(text))
    reader.word("severity")
    got = reader.severity()
    reader.finish()
    return got


def parse_delinquency(text: str | float | Delinquency) -> Delinquency:
    """'3%', '3', 'delinquency 3%', 'vector(1, 2, 4%)' -> the 60+ day delinquent share of the
    balance (a number is a percentage)."""
    if isinstance(text, Delinquency):
        return text
    reader = _Reader(str(text))
    reader.word("delinquency")
    got = reader.delinquency()
    reader.finish()
    return got


def parse_lag(text: str | int, term: int | None = None) -> int:
    """'12', '12 months', 'lag 12' -> months from default to liquidation; no longer than `term`."""
    reader = _Reader(str(text))
    reader.word("lag")
    got = reader.lag(term)
    reader.finish()
    return got


def parse_advancing(text: str | bool) -> bool:
    """'on', 'off', 'advance on', 'advancing off' -> whether the servicer advances."""
    if isinstance(text, bool):
        return text
    reader = _Reader(str(text))
    reader.word("advance", "advancing")
    got = reader.advancing()
    reader.finish()
    return got


def parse_defaults(text: str | DefaultAssumption, term: int | None = None) -> DefaultAssumption:
    """A whole default assumption in one line: the rate first, then any of 'severity X%', 'lag N',
    'advance on|off' in any order, each at most once ('100 SDA severity 35% lag 12 advance on').
    Unwritten: severity 0%, lag 0, advancing on. Errors point at the culprit in the text."""
    if isinstance(text, DefaultAssumption):
        return text
    reader = _Reader(str(text))
    rate = reader.rate()
    parts: dict[str, object] = {}
    while reader.tok.kind != "end":
        tok = reader.tok
        if reader.word("severity"):
            key, value = "severity", reader.severity()
        elif reader.word("lag"):
            key, value = "lag", reader.lag(term)
        elif reader.word("advance", "advancing"):
            key, value = "advancing", reader.advancing()
        elif reader.word("delinquency"):
            key, value = "delinquency", reader.delinquency()
        else:
            raise reader.fail(f"unexpected '{tok.text}': after the default rate come 'severity 35%', "
                              "'lag 12' and 'advance on|off'")
        if key in parts:
            raise reader.fail(f"'{tok.text}' is given twice", tok)
        parts[key] = value
    return DefaultAssumption(rate, **parts)  # type: ignore[arg-type]


def parse_default_rates(text: str, unit: str | None = None) -> list[DefaultRate]:
    """A comma-separated list of constant rates, as a command line gives a grid: '0,100,200' with
    unit 'SDA', '1 CDR, 100 SDA', or bare numbers before a unit taking it ('0, 100, 200 SDA')."""
    items = str(text).split(",")
    if not all(item.strip() for item in items):
        raise InputError(f"'{text}' has an empty default rate; separate rates with commas: 0,100,200")
    out: list[DefaultRate] = []
    trailing = unit
    for item in reversed(items):
        words = item.split()
        if len(words) == 2 and words[1].upper() in RATE_UNITS:
            trailing = words[1].upper()
        rate = parse_default_rate(item.strip(), trailing)
        if rate.kind != "constant":
            raise InputError(f"'{item.strip()}' is not a constant default rate; a list holds constants")
        out.append(rate)
    return out[::-1]
