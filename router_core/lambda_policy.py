"""Where λ comes from while serving: a constant, a 7 × 24 schedule, or a daily budget, read from a small YAML file.

Minimal forms, so that tools can write the file:

    lambda: 0.3
    schedule: business-hours          # or {hours: [24 values]} or {weekdays: {mon: [24 values], ...}}
    budget: {daily_usd: 50}           # optional floor / ceiling (λ bounds), smoothing, timezone

Optional at the top level: `timezone: Europe/Berlin` (the clocks a schedule or a budget day is read on; default UTC).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import RouterInputError
from .schedule import WEEKDAYS, Schedule, check_timezone

KINDS = ("lambda", "schedule", "budget")
PRESETS = {"business-hours": Schedule.business_hours}
WEEKDAY_KEYS = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}


@dataclass(frozen=True)
class Budget:
    daily_usd: float
    floor: float = 0.0  # λ never below this (the most quality the budget may buy)
    ceiling: float = 1.0  # nor above this (the least quality it may fall to)
    smoothing: float = 0.5  # share of the gap to the target λ closed at each update (1: jump straight to it)


@dataclass(frozen=True)
class LambdaPolicy:
    """One of: a constant λ, a schedule, a budget. `source` is what decision records say λ came from."""

    lam: float | None = None
    schedule: Schedule | None = None
    budget: Budget | None = None
    timezone: str = "UTC"

    @property
    def source(self) -> str:
        return "fixed" if self.lam is not None else "schedule" if self.schedule is not None else "budget"

    def describe(self) -> str:
        if self.lam is not None:
            return f"constant λ = {self.lam:g}"
        if self.schedule is not None:
            return f"schedule {self.schedule.name} ({self.timezone})"
        return (f"budget ${self.budget.daily_usd:,.2f}/day, λ in [{self.budget.floor:g}, {self.budget.ceiling:g}] "
                f"({self.timezone})")


def _number(value, where: str, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise RouterInputError(f"{where} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _hours(values, where: str) -> list[float]:
    if not isinstance(values, list) or len(values) != 24:
        raise RouterInputError(f"{where} must be a list of 24 λ values (00:00 … 23:00)")
    return [_number(v, f"{where}[{h}]") for h, v in enumerate(values)]


def _schedule(value, where: str) -> Schedule:
    if isinstance(value, str):
        if value not in PRESETS:
            raise RouterInputError(f"{where}: unknown preset {value!r}; known: {', '.join(PRESETS)}")
        return PRESETS[value]()
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("hours", "weekdays"):
        raise RouterInputError(f"{where} must be a preset name, {{hours: [24 values]}} or {{weekdays: {{mon: [...], ...}}}}")
    if "hours" in value:
        return Schedule.daily(_hours(value["hours"], f"{where}.hours"), "policy file")
    days = value["weekdays"]
    if not isinstance(days, dict) or sorted(map(str, days)) != sorted(WEEKDAY_KEYS):
        raise RouterInputError(f"{where}.weekdays must name each of {', '.join(WEEKDAY_KEYS)} once")
    table = {WEEKDAY_KEYS[k]: _hours(v, f"{where}.weekdays.{k}") for k, v in days.items()}
    return Schedule(tuple(tuple(table[d]) for d in WEEKDAYS), "policy file")


def _budget(value, where: str) -> Budget:
    if not isinstance(value, dict) or "daily_usd" not in value:
        raise RouterInputError(f"{where} must be a mapping with daily_usd, e.g. {{daily_usd: 50}}")
    unknown = sorted(set(map(str, value)) - {"daily_usd", "floor", "ceiling", "smoothing"})
    if unknown:
        raise RouterInputError(f"{where}: unknown key(s) {', '.join(unknown)}; known: daily_usd, floor, ceiling, smoothing")
    daily = _number(value["daily_usd"], f"{where}.daily_usd", 0.0, 1e12)
    if daily <= 0:
        raise RouterInputError(f"{where}.daily_usd must be a positive USD amount, got {daily}")
    floor = _number(value.get("floor", 0.0), f"{where}.floor")
    ceiling = _number(value.get("ceiling", 1.0), f"{where}.ceiling")
    if floor > ceiling:
        raise RouterInputError(f"{where}: floor {floor} is above ceiling {ceiling}")
    smoothing = _number(value.get("smoothing", 0.5), f"{where}.smoothing")
    if smoothing == 0:
        raise RouterInputError(f"{where}.smoothing must be above 0 (0 would never move λ)")
    return Budget(daily, floor, ceiling, smoothing)


def parse_policy(data, source: str = "policy.yaml") -> LambdaPolicy:
    """A policy from the parsed YAML. Raises RouterInputError naming the file and the key at fault."""
    if not isinstance(data, dict):
        raise RouterInputError(f"{source}: expected a mapping with one of {', '.join(KINDS)}")
    kinds = [k for k in KINDS if k in data]
    unknown = sorted(set(map(str, data)) - {*KINDS, "timezone"})
    if unknown:
        raise RouterInputError(f"{source}: unknown key(s) {', '.join(unknown)}; expected one of {', '.join(KINDS)} "
                               "(and optionally timezone)")
    if len(kinds) != 1:
        raise RouterInputError(f"{source}: needs exactly one of {', '.join(KINDS)}, got {', '.join(kinds) or 'none'}")
    timezone = data.get("timezone", "UTC")
    if not isinstance(timezone, str):
        raise RouterInputError(f"{source}: timezone must be an IANA name such as Europe/Berlin, got {timezone!r}")
    try:
        timezone = check_timezone(timezone)
    except RouterInputError as e:
        raise RouterInputError(f"{source}: {e}") from e
    kind = kinds[0]
    where = f"{source}: {kind}"
    if kind == "lambda":
        return LambdaPolicy(lam=_number(data["lambda"], where), timezone=timezone)
    if kind == "schedule":
        return LambdaPolicy(schedule=_schedule(data["schedule"], where), timezone=timezone)
    return LambdaPolicy(budget=_budget(data["budget"], where), timezone=timezone)


def read_policy(text: str | bytes, source: str = "policy.yaml") -> LambdaPolicy:
    import yaml

    try:
        data = yaml.safe_load(text.decode("utf-8-sig") if isinstance(text, bytes) else text)
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError) as e:
        raise RouterInputError(f"{source}: not a readable YAML file ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from e
    return parse_policy(data, source)


def load_policy(path) -> LambdaPolicy:
    from pathlib import Path

    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as e:
        raise RouterInputError(f"{path}: cannot be read ({e.strerror})") from e
    return read_policy(text, str(path))
