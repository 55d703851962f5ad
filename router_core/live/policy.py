"""Where λ comes from over time, in one model, and the one parser for every way a user writes it down.

A `LambdaPolicy` is one of: a constant λ, a weekday × hour schedule, a live budget controller (the server moves λ each
minute to hold a daily budget), or a fitted budget (one constant λ fitted offline on a log so that its spend fits a
daily budget; it needs a log, so the server refuses it).

The YAML file (`serve --lambda-policy`, `replay --policy`, `simulate --schedule`, the dashboard's export):

    lambda: 0.3
    schedule: business-hours          # or {hours: [24 values]} or {weekdays: {mon: [24 values], ...}}
    budget: {daily_usd: 50}           # the live controller; optional floor, ceiling (λ bounds) and smoothing
    fitted_budget: {daily_usd: 50}    # one constant λ fitted offline on the log being replayed

plus, optionally, `timezone: Europe/Berlin` (the clocks a schedule's hours and a budget's day follow; default UTC) and
`name`. A schedule exported by older dashboards (`name` + `lambda_by_weekday_hour`) reads as a schedule. On the command
line the short forms `constant:0.3`, `business-hours`, `budget:50` and `fitted-budget:50` stand for the same policies.
"""
from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass, replace
from pathlib import Path

from router_core.data.yaml_files import load_yaml
from router_core.errors import RouterInputError
from router_core.live.schedule import WEEKDAYS, Schedule, check_timezone
from router_core.policy.rule import check_lam
from router_core.units import usd

KINDS = ("lambda", "schedule", "budget", "fitted_budget")
LEGACY_SCHEDULE = "lambda_by_weekday_hour"  # the dashboard's export before the policy format
PRESETS = {"business-hours": Schedule.business_hours}
WEEKDAY_KEYS = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}
BUDGET_KEYS = ("daily_usd", "floor", "ceiling", "smoothing")
SPEC_FORMS = ("business-hours, constant:LAM (one λ all day, e.g. constant:0.3), budget:USD (the live controller at a "
              "daily budget, e.g. budget:50), fitted-budget:USD (the lowest constant λ whose spend fits), or a policy "
              "YAML file")
MAX_POLICY_BYTES = 64 * 1024  # a policy is a few lines; anything bigger is a mistake


@dataclass(frozen=True)
class Budget:
    daily_usd: float
    floor: float = 0.0  # λ never below this (the most quality the budget may buy)
    ceiling: float = 1.0  # nor above this (the least quality it may fall to)
    smoothing: float = 0.5  # share of the gap to the target λ closed at each update (1: jump straight to it)


@dataclass(frozen=True)
class LambdaPolicy:
    """Exactly one of `lam`, `schedule`, `budget` (live controller) or `fitted_budget` (USD per day, fitted offline)."""

    lam: float | None = None
    schedule: Schedule | None = None
    budget: Budget | None = None
    fitted_budget: float | None = None
    timezone: str = "UTC"
    name: str | None = None

    def __post_init__(self):
        given = [k for k, v in (("lambda", self.lam), ("schedule", self.schedule), ("budget", self.budget),
                                ("fitted_budget", self.fitted_budget)) if v is not None]
        if len(given) != 1:
            raise RouterInputError(f"a λ policy needs exactly one of {', '.join(KINDS)}, got {', '.join(given) or 'none'}")

    @property
    def kind(self) -> str:
        return ("lambda" if self.lam is not None else "schedule" if self.schedule is not None
                else "budget" if self.budget is not None else "fitted_budget")

    @property
    def source(self) -> str:
        """What a decision record says its λ came from."""
        return {"lambda": "fixed", "schedule": "schedule", "budget": "budget", "fitted_budget": "fixed"}[self.kind]

    def describe(self) -> str:
        zone = "" if self.timezone == "UTC" else f" ({self.timezone})"
        if self.lam is not None:
            return self.name or f"constant λ = {self.lam:g}"
        if self.schedule is not None:
            return f"schedule {self.name or self.schedule.name}{zone}"
        if self.fitted_budget is not None:
            return f"the constant λ fitted to {usd(self.fitted_budget)}/day"
        return (f"budget {usd(self.budget.daily_usd)}/day, λ in [{self.budget.floor:g}, {self.budget.ceiling:g}]"
                f"{zone or ' (UTC)'}")

    def fixed(self, lam: float, name: str | None = None) -> "LambdaPolicy":
        """This policy resolved to one constant λ (a fitted budget, once fitted)."""
        return LambdaPolicy(lam=lam, timezone=self.timezone, name=name or self.name)

    def to_data(self) -> dict:
        """The policy as the YAML file states it (parse_policy reads it back)."""
        data: dict = {}
        if self.name:
            data["name"] = self.name
        if self.lam is not None:
            data["lambda"] = round(float(self.lam), 6)
        elif self.schedule is not None:
            table = self.schedule.table
            if (table == table[0]).all():
                data["schedule"] = {"hours": [round(float(x), 6) for x in table[0]]}
            else:
                data["schedule"] = {"weekdays": {key: [round(float(x), 6) for x in table[WEEKDAYS.index(day)]]
                                                 for key, day in WEEKDAY_KEYS.items()}}
        elif self.budget is not None:
            data["budget"] = {"daily_usd": _clean(self.budget.daily_usd), "floor": _clean(self.budget.floor),
                              "ceiling": _clean(self.budget.ceiling), "smoothing": _clean(self.budget.smoothing)}
        else:
            data["fitted_budget"] = {"daily_usd": _clean(self.fitted_budget)}
        if self.timezone != "UTC":
            data["timezone"] = self.timezone
        return data

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_data(), sort_keys=False, allow_unicode=True, width=200)


def _clean(value: float) -> float:
    """A number as a person would type it: no float noise such as 0.30000000000000004."""
    return float(f"{float(value):.10g}")


def _number(value, where: str, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RouterInputError(f"{where} must be a number in [{low:g}, {high:g}], got {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer too big for a float
        number = math.inf
    if not math.isfinite(number) or not low <= number <= high:
        raise RouterInputError(f"{where} must be a number in [{low:g}, {high:g}], got {_shown(value)}")
    return number


_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlevel, _SHORT.maxlong = 50, 50, 4, 4, 2, 30


def _shown(value) -> str:
    """A user's value in an error message: a short repr, never the whole of a big value."""
    return _SHORT.repr(value)


def _hours(values, where: str) -> list[float]:
    if not isinstance(values, list) or len(values) != 24:
        raise RouterInputError(f"{where} must be a list of 24 λ values (00:00 … 23:00)")
    return [_number(v, f"{where}[{h}]") for h, v in enumerate(values)]


def _schedule(value, where: str, name: str) -> Schedule:
    if isinstance(value, str):
        if value not in PRESETS:
            raise RouterInputError(f"{where}: unknown preset {_shown(value)}; known: {', '.join(PRESETS)}")
        return PRESETS[value]()
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("hours", "weekdays"):
        raise RouterInputError(f"{where} must be a preset name, {{hours: [24 values]}} or {{weekdays: {{mon: [...], ...}}}}")
    if "hours" in value:
        return Schedule.daily(_hours(value["hours"], f"{where}.hours"), name)
    return _weekdays(value["weekdays"], f"{where}.weekdays", name)


def _weekdays(days, where: str, name: str) -> Schedule:
    """A mapping of the seven weekdays (mon … sun, or Mon … Sun as the older export wrote them) to 24 values each."""
    if not isinstance(days, dict):
        raise RouterInputError(f"{where} must map each of {', '.join(WEEKDAY_KEYS)} to 24 λ values")
    keys = {str(k).lower()[:3]: k for k in days}
    if sorted(keys) != sorted(WEEKDAY_KEYS) or len(days) != 7:
        raise RouterInputError(f"{where} must name each of {', '.join(WEEKDAY_KEYS)} once")
    table = {WEEKDAY_KEYS[k]: _hours(days[original], f"{where}.{original}") for k, original in keys.items()}
    return Schedule(tuple(tuple(table[d]) for d in WEEKDAYS), name)


def _budget(value, where: str, live: bool) -> Budget:
    if not isinstance(value, dict) or "daily_usd" not in value:
        raise RouterInputError(f"{where} must be a mapping with daily_usd, e.g. {{daily_usd: 50}}")
    allowed = BUDGET_KEYS if live else ("daily_usd",)
    unknown = sorted(set(map(str, value)) - set(allowed))
    if unknown:
        raise RouterInputError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(allowed)}")
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
    """A policy from parsed YAML. Raises RouterInputError naming the file and the key at fault."""
    if not isinstance(data, dict):
        raise RouterInputError(f"{source}: expected a mapping with one of {', '.join(KINDS)}")
    keys = set(map(str, data))
    unknown = sorted(keys - {*KINDS, LEGACY_SCHEDULE, "timezone", "name"})
    if unknown:
        raise RouterInputError(f"{source}: unknown key(s) {', '.join(k[:40] for k in unknown)}; expected one of "
                               f"{', '.join(KINDS)} (and optionally timezone, name)")
    kinds = [k for k in (*KINDS, LEGACY_SCHEDULE) if k in data]
    if len(kinds) != 1:
        raise RouterInputError(f"{source}: needs exactly one of {', '.join(KINDS)}, got {', '.join(kinds) or 'none'}")
    timezone = data.get("timezone", "UTC")
    if not isinstance(timezone, str):
        raise RouterInputError(f"{source}: timezone must be an IANA name such as Europe/Berlin, got {_shown(timezone)}")
    try:
        timezone = check_timezone(timezone)
    except RouterInputError as e:
        raise RouterInputError(f"{source}: {e}") from e
    name = data.get("name")
    if name is not None and not isinstance(name, (str, int, float)):
        raise RouterInputError(f"{source}: name must be a short text, got {_shown(name)}")
    name = str(name)[:80] if name is not None else None
    kind = kinds[0]
    where = f"{source}: {kind}"
    value = data[kind]
    try:
        if kind == "lambda":
            return LambdaPolicy(lam=_number(value, where), timezone=timezone, name=name)
        if kind == "schedule":
            return LambdaPolicy(schedule=_schedule(value, where, name or Path(source).stem), timezone=timezone, name=name)
        if kind == LEGACY_SCHEDULE:
            schedule = (Schedule.daily(_hours(value, where), name or Path(source).stem) if isinstance(value, list)
                        else _weekdays(value, where, name or Path(source).stem))
            return LambdaPolicy(schedule=schedule, timezone=timezone, name=name)
        if kind == "budget":
            return LambdaPolicy(budget=_budget(value, where, live=True), timezone=timezone, name=name)
        return LambdaPolicy(fitted_budget=_budget(value, where, live=False).daily_usd, timezone=timezone, name=name)
    except RouterInputError as e:
        message = str(e)
        raise RouterInputError(message if message.startswith(source) else f"{source}: {message}") from e


def read_policy(text: str | bytes, source: str = "policy.yaml") -> LambdaPolicy:
    """A policy from YAML text. Raises RouterInputError with one line naming `source` for anything unreadable."""
    if len(text) > MAX_POLICY_BYTES:
        raise RouterInputError(f"{source}: {len(text):,} bytes; a λ policy is a few lines (at most {MAX_POLICY_BYTES:,} bytes)")
    return parse_policy(load_yaml(text, source), source)


def load_policy(path) -> LambdaPolicy:
    """A policy from a YAML file (a regular file only: a FIFO or a device is refused, never read)."""
    import stat

    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise RouterInputError(f"{path}: not a regular file; a λ policy is a YAML file")
        if info.st_size > MAX_POLICY_BYTES:
            raise RouterInputError(f"{path}: {info.st_size:,} bytes; a λ policy is a few lines (at most "
                                   f"{MAX_POLICY_BYTES:,} bytes)")
        text = path.read_bytes()
    except OSError as e:
        raise RouterInputError(f"{path}: cannot be read ({e.strerror})") from e
    return read_policy(text, str(path))


def _spec_number(spec: str, text: str, what: str, low: float, high: float) -> float:
    try:
        value = float(text.strip().removeprefix("$"))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise RouterInputError(f"policy {spec!r}: {text.strip()!r} is not a number ({what}); use {SPEC_FORMS}")
    return _number(value, f"policy {spec!r}: {what}", low, high)


def policy_from_spec(spec: str, timezone: str = "UTC") -> LambdaPolicy:
    """A policy from a short command-line form, or from a YAML file when `spec` names one."""
    if not isinstance(spec, str) or not spec.strip():
        raise RouterInputError(f"policy {spec!r}: use {SPEC_FORMS}")
    if Path(spec).suffix.lower() in (".yaml", ".yml"):
        policy = load_policy(spec)
        return policy if timezone == "UTC" else replace(policy, timezone=check_timezone(timezone))
    kind, _, value = spec.strip().partition(":")
    kind = kind.strip().lower().replace("_", "-")
    zone = check_timezone(timezone)
    if kind == "business-hours" and not value.strip():
        return LambdaPolicy(schedule=Schedule.business_hours(), timezone=zone)
    if kind in ("constant", "lambda") and value.strip():
        return LambdaPolicy(lam=_spec_number(spec, value, "λ in [0, 1]", 0.0, 1.0), timezone=zone)
    if kind == "budget" and value.strip():
        return LambdaPolicy(budget=Budget(_positive(spec, value)), timezone=zone)
    if kind == "fitted-budget" and value.strip():
        return LambdaPolicy(fitted_budget=_positive(spec, value), timezone=zone)
    raise RouterInputError(f"policy {spec!r}: not understood; use {SPEC_FORMS}")


def _positive(spec: str, value: str) -> float:
    daily = _spec_number(spec, value, "USD per day", 0.0, 1e12)
    if daily <= 0:
        raise RouterInputError(f"policy {spec!r}: the daily budget must be a positive USD amount, got {daily:g}")
    return daily


def as_policy(value, timezone: str = "UTC") -> LambdaPolicy:
    """A LambdaPolicy from what a caller holds: a policy, a Schedule, a λ, or a short form / YAML file path."""
    if isinstance(value, LambdaPolicy):
        return value
    if isinstance(value, Schedule):
        return LambdaPolicy(schedule=value, timezone=check_timezone(timezone), name=value.name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return LambdaPolicy(lam=check_lam(value), timezone=check_timezone(timezone))
    if isinstance(value, (str, Path)):
        return policy_from_spec(str(value), timezone)
    raise RouterInputError(f"policy {value!r}: expected a λ policy, a Schedule, a λ or one of {SPEC_FORMS}")
