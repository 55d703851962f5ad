"""Request timestamps read one value at a time: epoch numbers get their own unit, dates need a year, times stay plausible."""
from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd

EARLIEST = pd.Timestamp("1990-01-01", tz="UTC")
LATEST = pd.Timestamp("2100-01-01", tz="UTC")
# Seconds, milliseconds, microseconds and nanoseconds since 1970: each unit's plausible range, which never overlap.
NANOSECONDS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
EPOCH_UNITS = tuple((unit, EARLIEST.value / scale, LATEST.value / scale) for unit, scale in NANOSECONDS.items())
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_YEAR = re.compile(r"(?<!\d)(19|20|21)\d\d(?!\d)")  # a date must name its year, so "now", "today" or "12:00" never pass
_PLAUSIBLE = f"between {EARLIEST.year} and {LATEST.year}"
# A date written with its day and month first and the year last: 05/03/2024, 13.03.2024, 5-3-2024 14:00.
_DAY_MONTH_YEAR = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?!\d)")
DATE_ORDERS = ("day-first", "month-first")


class AmbiguousDates(ValueError):
    """A column's dates do not say whether the day or the month comes first (or say both)."""


def date_order(texts) -> str | None:
    """The order of a column's day/month/year dates, decided once for the whole column: "day-first" when some first
    number is above 12, "month-first" when some second one is, None when no value is written that way.

    Raises:
        AmbiguousDates when every such date could be read either way, or the column holds both kinds.
    """
    matches = [m for m in (_DAY_MONTH_YEAR.match(text) for text in texts) if m]
    if not matches:
        return None
    day_first = [m.group(0).strip() for m in matches if int(m.group(1)) > 12]
    month_first = [m.group(0).strip() for m in matches if int(m.group(2)) > 12]
    if day_first and month_first:
        raise AmbiguousDates(f"dates such as {day_first[0]} (day first) and {month_first[0]} (month first) disagree")
    if day_first:
        return "day-first"
    if month_first:
        return "month-first"
    raise AmbiguousDates(f"dates such as {matches[0].group(0).strip()} could be read day first or month first; "
                         "say which: --date-order day-first or --date-order month-first")


def _epoch(value: int | float) -> tuple[pd.Timestamp | None, str | None]:
    if isinstance(value, int) and abs(value) > 10**30:  # far past any epoch unit, and too big for a float
        return None, f"epoch time of {len(str(abs(value)))} digits is not a date {_PLAUSIBLE}"
    if not math.isfinite(value):
        return None, f"epoch time {value} is not a finite number"
    for unit, low, high in EPOCH_UNITS:
        if low <= value < high:
            scale = NANOSECONDS[unit]  # whole numbers stay exact: float arithmetic would blur nanosecond epochs
            return pd.Timestamp(value * scale if isinstance(value, int) else int(round(value * scale)), tz="UTC"), None
    return None, (f"epoch time {value:g} is not a date {_PLAUSIBLE} in seconds, milliseconds, microseconds or "
                  "nanoseconds since 1970")


def _classify(value) -> tuple[str, object]:
    """('missing' | 'time' | 'number' | 'text' | 'bad', the value to parse or the reason)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "missing", None
    if isinstance(value, (bool, np.bool_)):
        return "bad", f"{value!r} is not a time"
    if isinstance(value, (pd.Timestamp, dt.datetime, np.datetime64)):
        return "time", value
    if isinstance(value, dt.date):
        return "time", pd.Timestamp(value)
    if isinstance(value, (int, np.integer)):
        return "number", int(value)
    if isinstance(value, (float, np.floating)):
        return "number", float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return "missing", None
        if _NUMBER.fullmatch(text):
            return "number", int(text) if _INTEGER.fullmatch(text) else float(text)
        if not _YEAR.search(text):
            return "bad", f"{text[:40]!r} is not a date with a year (relative times such as 'now' are not accepted)"
        return "text", text
    return "bad", f"a {type(value).__name__} value is not a time"


def _to_utc(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def parse_timestamps(values, order: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Each cell as a UTC time to the microsecond, or NaT with the reason it was not understood.

    Numbers (and numeric text) are epoch times whose unit is chosen per value, so one outlier cannot move the other
    rows; text must name a year; every result must fall in the plausible window. Dates written day/month/year follow
    one order for the whole column: `order` ("day-first" or "month-first"), else the order the values show.

    Raises:
        AmbiguousDates when no order is given and the values do not settle it.
    Returns:
        (times: datetime64[us, UTC] Series, reasons: str Series, "" where the time is good), both on a 0..n-1 index.
    """
    values = list(values)
    times: list = [pd.NaT] * len(values)
    reasons = [""] * len(values)
    texts: dict[int, str] = {}
    for i, value in enumerate(values):
        kind, payload = _classify(value)
        if kind == "missing":
            reasons[i] = "no timestamp"
        elif kind == "bad":
            reasons[i] = payload
        elif kind == "number":
            times[i], reason = _epoch(payload)
            reasons[i] = reason or ""
        elif kind == "time":
            try:
                times[i] = _to_utc(pd.Timestamp(payload))
            except (ValueError, OverflowError):
                reasons[i] = f"{payload!r} is not a time"
        else:
            texts[i] = payload
    if texts:
        if order is not None and order not in DATE_ORDERS:
            raise ValueError(f"date order must be one of {', '.join(DATE_ORDERS)}, got {order!r}")
        order = order or date_order(texts.values())
        parsed = pd.to_datetime(pd.Series(list(texts.values()), dtype=object), utc=True, errors="coerce", format="mixed",
                                dayfirst=order == "day-first")
        for i, stamp in zip(texts, parsed):
            if stamp is pd.NaT or pd.isna(stamp):
                reasons[i] = f"{texts[i][:40]!r} is not a date and time"
            else:
                times[i] = stamp
    for i, stamp in enumerate(times):
        if not reasons[i] and not (EARLIEST <= stamp < LATEST):
            times[i], reasons[i] = pd.NaT, f"{stamp.isoformat()} is not {_PLAUSIBLE}"
    series = pd.Series(pd.DatetimeIndex(times, tz="UTC") if times else pd.DatetimeIndex([], tz="UTC"))
    series = series.dt.floor("us").astype("datetime64[us, UTC]")  # Parquet stores microseconds: both readers agree
    return series, pd.Series(reasons, dtype=object)
