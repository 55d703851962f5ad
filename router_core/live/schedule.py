"""A weekday × hour table of λ values, and the clocks it is read on."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from router_core.errors import RouterInputError
from router_core.policy.rule import check_lam


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone (Europe/Berlin, America/New_York, UTC), else RouterInputError."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as e:
        raise RouterInputError(f"time zone {name!r}: not an IANA time zone name such as Europe/Berlin, "
                               "America/New_York or UTC") from e
    return str(name)


def local_times(timestamps, timezone: str = "UTC") -> pd.DatetimeIndex:
    """UTC timestamps as the wall-clock times of `timezone` (a schedule's hours are read there)."""
    times = pd.DatetimeIndex(timestamps)
    times = times.tz_localize("UTC") if times.tz is None else times
    return times.tz_convert(check_timezone(timezone))


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Schedule:
    """λ per weekday (Monday first) and hour of day: a 7 × 24 table. 0 = quality first, 1 = cost first."""

    lams: tuple[tuple[float, ...], ...]
    name: str = "custom"

    def __post_init__(self):
        table = np.asarray(self.lams, dtype=float)
        if table.shape != (7, 24):
            raise RouterInputError(f"schedule {self.name!r}: needs 24 hourly λ values for each of 7 weekdays, got shape {table.shape}")
        bad = np.argwhere(~np.isfinite(table) | (table < 0) | (table > 1))
        if len(bad):
            day, hour = bad[0]
            raise RouterInputError(f"schedule {self.name!r}: λ at {WEEKDAYS[day]} {hour:02d}:00 is {table[day, hour]}; "
                                   "every λ must be in [0, 1] (0 = quality first, 1 = cost first)")

    @classmethod
    def daily(cls, hourly, name: str = "custom") -> "Schedule":
        """The same 24 hourly values every day of the week."""
        hourly = [float(x) for x in hourly]
        if len(hourly) != 24:
            raise RouterInputError(f"schedule {name!r}: needs 24 hourly λ values (00:00 … 23:00), got {len(hourly)}")
        return cls(tuple(tuple(hourly) for _ in range(7)), name)

    @classmethod
    def constant(cls, lam: float) -> "Schedule":
        return cls.daily([check_lam(lam)] * 24, f"constant λ={lam:g}")

    @classmethod
    def business_hours(cls) -> "Schedule":
        """The seed's preset: quality first 09–18 (λ 0.05), 18–23 λ 0.2, cost first overnight (λ 0.5)."""
        return cls.daily([0.05 if 9 <= h < 18 else 0.2 if 18 <= h < 23 else 0.5 for h in range(24)], "business hours (seed)")

    @property
    def table(self) -> np.ndarray:
        return np.asarray(self.lams, dtype=float)  # (7, 24)

    def lam_at(self, timestamps: pd.Series, timezone: str = "UTC") -> np.ndarray:
        """λ for each timestamp, read from its weekday and hour on the clocks of `timezone` (an IANA name)."""
        times = local_times(timestamps, timezone)
        return self.table[times.dayofweek.to_numpy(), times.hour.to_numpy()]

    def to_frame(self) -> pd.DataFrame:
        """Hours as rows (00 … 23), weekdays as columns: the editable view."""
        return pd.DataFrame(self.table.T, index=[f"{h:02d}:00" for h in range(24)], columns=list(WEEKDAYS))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, name: str = "custom") -> "Schedule":
        values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        if values.shape == (24, 1):
            return cls.daily(values[:, 0], name)
        return cls(tuple(map(tuple, values.T)), name)

    def shifted(self, delta: float, name: str | None = None) -> "Schedule":
        """Every hour moved by `delta`, clipped to [0, 1]."""
        return Schedule(tuple(map(tuple, np.clip(self.table + delta, 0.0, 1.0))), name or self.name)
