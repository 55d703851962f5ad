"""Time-of-day λ schedules replayed over a scored request log: cost, predicted quality and model mix per hour and day.

Everything here is arithmetic over cached scores, so editing a schedule never re-encodes a prompt. Every decision
goes through a `Policy` (router.policy(name)), so a replay decides exactly as the router would.
"""
from __future__ import annotations

from dataclasses import dataclass

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RouterInputError
from .policy import Policy, check_lam

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
DAYS_PER_MONTH = 30.44  # mean Gregorian month, for "projected monthly cost"


def usd(amount: float) -> str:
    """Dollars with sensible precision: cents for big sums, 3 significant digits for fractions of a cent."""
    return f"${amount:,.2f}" if abs(amount) >= 1 else f"${amount:.3g}"


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

    def to_yaml(self) -> str:
        """The schedule as YAML: its name and, per weekday, the 24 hourly λ values (from_yaml reads it back)."""
        import yaml

        return yaml.safe_dump({"name": self.name, "lambda_by_weekday_hour": {day: [round(float(x), 6) for x in row]
                                                                            for day, row in zip(WEEKDAYS, self.table)}},
                              sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str | bytes, source: str = "schedule.yaml") -> "Schedule":
        """A schedule written by to_yaml; `lambda_by_weekday_hour` may also be one list of 24 values for every day.

        Raises:
            RouterInputError naming the file and what is wrong with it.
        """
        import yaml

        try:
            data = yaml.safe_load(text.decode("utf-8-sig") if isinstance(text, bytes) else text)
        except (UnicodeDecodeError, yaml.YAMLError, RecursionError) as e:
            raise RouterInputError(f"{source}: not a readable YAML file ({type(e).__name__})") from e
        if not isinstance(data, dict) or "lambda_by_weekday_hour" not in data:
            raise RouterInputError(f"{source}: expected a mapping with lambda_by_weekday_hour (as the dashboard exports)")
        name = str(data.get("name") or Path(source).stem)[:80]
        values = data["lambda_by_weekday_hour"]
        try:
            if isinstance(values, list):
                return cls.daily(values, name)
            if isinstance(values, dict):
                unknown = sorted(str(k) for k in values if k not in WEEKDAYS)
                if unknown or len(values) != 7:
                    raise RouterInputError(f"lambda_by_weekday_hour needs the 7 weekdays {', '.join(WEEKDAYS)}"
                                           + (f"; unknown {', '.join(unknown)}" if unknown else ""))
                return cls(tuple(tuple(float(x) for x in values[day]) for day in WEEKDAYS), name)
        except (TypeError, ValueError) as e:
            if isinstance(e, RouterInputError):
                raise RouterInputError(f"{source}: {e}") from e
            raise RouterInputError(f"{source}: every λ must be a number in [0, 1] ({e})") from e
        raise RouterInputError(f"{source}: lambda_by_weekday_hour must be a list of 24 values or a mapping of weekdays")

    def shifted(self, delta: float, name: str | None = None) -> "Schedule":
        """Every hour moved by `delta`, clipped to [0, 1]."""
        return Schedule(tuple(map(tuple, np.clip(self.table + delta, 0.0, 1.0))), name or self.name)


@dataclass(frozen=True)
class ScoredLog:
    """A request log joined to the router's scores of its distinct prompts (each prompt scored once)."""

    timestamps: pd.Series  # (R,) UTC
    prompt_index: np.ndarray  # (R,) row of each request in the score arrays
    candidates: list[str]
    quality: np.ndarray  # (P, M) predicted, P distinct prompts
    cost: np.ndarray  # (P, M) predicted USD
    weights: np.ndarray  # (P, M) routing weights, for the `paper` policy
    logged_model: pd.Series | None = None  # (R,) what the naive setup called, where the log says
    logged_cost: pd.Series | None = None  # (R,) USD the log recorded
    groups: dict[str, pd.Series] | None = None  # (R,) per request, "user" and/or "team" where the log says

    @property
    def n_days(self) -> float:
        """Days the log covers, counting whole calendar days (a two-week log is 14, not 13.96)."""
        days = pd.DatetimeIndex(self.timestamps).normalize()
        return float(max(1, days.nunique()))


def scored_log(log_frame: pd.DataFrame, router, catalog=None, progress=None) -> ScoredLog:
    """Score each distinct prompt of a request log once.

    Args:
        log_frame: data.RequestLog.frame (timestamp, prompt, optional model and cost_usd).
        progress: callable(done, total) while encoding.
    """
    codes, distinct = pd.factorize(log_frame["prompt"], sort=False)
    scores = router.scores(list(distinct), catalog=catalog, progress=progress)
    return ScoredLog(log_frame["timestamp"].reset_index(drop=True), codes, list(scores.candidates), scores.quality,
                     scores.cost, scores.weights,
                     log_frame["model"].reset_index(drop=True) if "model" in log_frame else None,
                     log_frame["cost_usd"].reset_index(drop=True) if "cost_usd" in log_frame else None,
                     {g: log_frame[g].reset_index(drop=True) for g in ("user", "team") if g in log_frame} or None)


def _check_policy(policy) -> Policy:
    # A name here would need its own cost scale and α, which could disagree with the router's: take its Policy.
    if not isinstance(policy, Policy):
        raise RouterInputError(f"schedule: expected a Policy such as router.policy('linear'), got {policy!r}")
    return policy


def choices_at(log: ScoredLog, lam: float, policy: Policy) -> np.ndarray:
    """(P,) the candidate the policy picks for each distinct prompt at one λ."""
    return _check_policy(policy).choose(log.quality, log.cost, check_lam(lam), log.weights)


def replay(log: ScoredLog, schedule: Schedule, policy: Policy, timezone: str = "UTC") -> pd.DataFrame:
    """Route every request at its hour's λ, hours read on the clocks of `timezone`.

    Returns:
        one row per request: timestamp, lam, model, predicted_cost_usd, predicted_quality.
    """
    _check_policy(policy)
    lam_per_request = schedule.lam_at(log.timestamps, timezone)  # (R,)
    choice = np.empty(len(lam_per_request), dtype=int)
    for lam in np.unique(lam_per_request):  # at most 7 × 24 distinct values; each is one vectorised pass
        rows = lam_per_request == lam
        prompts = log.prompt_index[rows]
        choice[rows] = policy.choose(log.quality[prompts], log.cost[prompts], lam, log.weights[prompts])
    return pd.DataFrame({"timestamp": log.timestamps.to_numpy(), "lam": lam_per_request,
                         "model": np.asarray(log.candidates)[choice],
                         "predicted_cost_usd": log.cost[log.prompt_index, choice],
                         "predicted_quality": log.quality[log.prompt_index, choice]})


def constant_frontier(log: ScoredLog, policy: Policy, lams=None) -> pd.DataFrame:
    """Predicted cost per day and mean quality of every request routed at one λ, for each λ of a grid (default 0,
    0.05, …, 1): what a schedule is compared with. Per distinct prompt, weighted by how often the log sends it."""
    lams = np.linspace(0.0, 1.0, 21) if lams is None else np.asarray(lams, dtype=float)
    requests_per_prompt = np.bincount(log.prompt_index, minlength=len(log.cost))  # (P,)
    rows = []
    for lam in lams:
        choice = choices_at(log, float(lam), policy)  # (P,)
        prompts = np.arange(len(log.cost))
        rows.append({"lam": float(lam),
                     "cost_per_day_usd": float(requests_per_prompt @ log.cost[prompts, choice] / log.n_days),
                     "predicted_quality": float(requests_per_prompt @ log.quality[prompts, choice] / requests_per_prompt.sum())})
    return pd.DataFrame(rows)


def replay_constant_cost_per_day(log: ScoredLog, lam: float, policy: Policy) -> float:
    """Mean predicted USD per day if every request were routed at one λ."""
    return float(constant_frontier(log, policy, [lam])["cost_per_day_usd"].iloc[0])


def better_constant(log: ScoredLog, policy: Policy, cost_per_day_usd: float, quality: float, margin: float = 1e-3,
                    frontier: pd.DataFrame | None = None) -> dict | None:
    """The constant λ with the most predicted quality at no more than a schedule's predicted cost per day, if it beats
    the schedule's quality by more than `margin`; None when the schedule is as good as any constant λ.

    Args:
        frontier: constant_frontier(log, policy), when the caller keeps it across schedules.
    """
    frontier = constant_frontier(log, policy) if frontier is None else frontier
    affordable = frontier[frontier["cost_per_day_usd"] <= cost_per_day_usd * (1 + 1e-9)]
    if affordable.empty:
        return None
    best = affordable.loc[affordable["predicted_quality"].idxmax()]
    return best.to_dict() if best["predicted_quality"] > quality + margin else None


def summarise(requests: pd.DataFrame, by: str = "hour", timezone: str = "UTC") -> pd.DataFrame:
    """Per hour of day (summed over days) or per calendar day, on the clocks of `timezone`: requests, predicted cost,
    mean predicted quality, model mix."""
    times = local_times(requests["timestamp"], timezone)
    key = times.hour if by == "hour" else times.normalize().date if by == "day" else None
    if key is None:
        raise ValueError(f"by must be 'hour' or 'day', got {by!r}")
    grouped = requests.groupby(np.asarray(key))
    table = pd.DataFrame({"requests": grouped.size(), "predicted_cost_usd": grouped["predicted_cost_usd"].sum(),
                          "predicted_quality": grouped["predicted_quality"].mean(), "mean_lam": grouped["lam"].mean()})
    mix = pd.crosstab(np.asarray(key), requests["model"].to_numpy(), normalize="index")
    table = table.join(mix.add_prefix("share_"))
    table.index.name = by
    return table


def logged_cost_by_hour(log: ScoredLog, timezone: str = "UTC") -> pd.Series | None:
    """USD the log itself recorded per hour of day, summed over days (measured); None when it has no cost column."""
    if not has_logged_cost(log):
        return None
    hours = local_times(log.timestamps, timezone).hour
    return log.logged_cost.groupby(np.asarray(hours)).sum().reindex(range(24), fill_value=0.0)


def all_to_best(log: ScoredLog) -> tuple[str, np.ndarray, np.ndarray]:
    """The candidate with the highest mean predicted quality over the log, and its per-request cost and quality."""
    best = int(log.quality[log.prompt_index].mean(axis=0).argmax())
    return log.candidates[best], log.cost[log.prompt_index, best], log.quality[log.prompt_index, best]


def has_logged_cost(log: ScoredLog) -> bool:
    return log.logged_cost is not None and bool(log.logged_cost.notna().any())


def totals(log: ScoredLog, requests: pd.DataFrame) -> dict:
    """Projected monthly cost and savings against sending everything to the best model (all predicted), plus what the
    log itself recorded (`logged_*`, measured) when it has a cost column."""
    best_name, best_cost, best_quality = all_to_best(log)
    total = float(requests["predicted_cost_usd"].sum())
    per_day = total / log.n_days
    best_per_day = best_cost.sum() / log.n_days
    result = {"days": log.n_days, "requests": len(requests), "predicted_cost_usd": total, "cost_per_day_usd": per_day,
              "monthly_cost_usd": per_day * DAYS_PER_MONTH, "best_model": best_name,
              "best_model_monthly_cost_usd": best_per_day * DAYS_PER_MONTH,
              "savings_vs_best_usd": (best_per_day - per_day) * DAYS_PER_MONTH,
              "savings_vs_best_fraction": 1.0 - per_day / best_per_day if best_per_day > 0 else np.nan,
              "predicted_quality": float(requests["predicted_quality"].mean()),
              "best_model_predicted_quality": float(best_quality.mean())}
    result["predicted_quality_change"] = result["predicted_quality"] - result["best_model_predicted_quality"]
    result["cost_per_1k_requests_usd"] = 1000 * total / max(len(requests), 1)
    if has_logged_cost(log):
        logged = float(log.logged_cost.sum())
        logged_monthly = logged / log.n_days * DAYS_PER_MONTH
        result.update(logged_cost_usd=logged, logged_cost_per_day_usd=logged / log.n_days,
                      logged_monthly_cost_usd=logged_monthly,
                      logged_requests_with_cost=int(log.logged_cost.notna().sum()),
                      logged_cost_per_1k_requests_usd=1000 * logged / max(int(log.logged_cost.notna().sum()), 1),
                      savings_vs_logged_usd=logged_monthly - result["monthly_cost_usd"],
                      savings_vs_logged_fraction=1.0 - result["monthly_cost_usd"] / logged_monthly if logged_monthly > 0 else np.nan)
    return result


def by_group(requests: pd.DataFrame, column: str, n_days: float) -> pd.DataFrame:
    """Per user or team (a column of a report's requests): requests, predicted cost per month under the schedule,
    the logged spend per month (measured, where the log has costs), the saving, and mean predicted quality."""
    groups = requests[column].fillna("(not given)")
    grouped = requests.groupby(groups.to_numpy())
    table = pd.DataFrame({"requests": grouped.size(),
                          "monthly cost (predicted)": grouped["predicted_cost_usd"].sum() / n_days * DAYS_PER_MONTH,
                          "quality (predicted)": grouped["predicted_quality"].mean()})
    if "logged_cost_usd" in requests and requests["logged_cost_usd"].notna().any():
        table["logged spend per month (measured)"] = grouped["logged_cost_usd"].sum() / n_days * DAYS_PER_MONTH
        table["saving per month"] = table["logged spend per month (measured)"] - table["monthly cost (predicted)"]
    table.index.name = column
    return table.sort_index().sort_values("requests", ascending=False, kind="stable")  # ties in name order


def cost_calibration(log: ScoredLog) -> dict | None:
    """How the router's predicted cost compares with what the log measured, on the requests whose logged model is a
    candidate and whose cost is recorded: the predicted cost of the model that was called against its logged cost.

    Returns:
        None when no request qualifies, else {"requests", "measured_usd", "predicted_usd", "ratio"} (measured / predicted).
    """
    if not has_logged_cost(log) or log.logged_model is None:
        return None
    column = {name: j for j, name in enumerate(log.candidates)}
    called = log.logged_model.map(column)
    usable = (called.notna() & log.logged_cost.notna()).to_numpy()
    if not usable.any():
        return None
    rows = log.prompt_index[usable]
    predicted = float(log.cost[rows, called[usable].astype(int).to_numpy()].sum())
    measured = float(log.logged_cost[usable].sum())
    return {"requests": int(usable.sum()), "measured_usd": measured, "predicted_usd": predicted,
            "ratio": measured / predicted if predicted > 0 else np.nan}


def suggested_daily_budget(log: ScoredLog) -> float:
    """A starting budget: what the log spent per day (measured) where it records costs, else a third of what sending
    every request to its dearest model would cost per day (predicted)."""
    if has_logged_cost(log):
        return round(float(log.logged_cost.sum()) / log.n_days, 2)
    return round(float(log.cost.max(axis=1)[log.prompt_index].sum() / log.n_days / 3), 2)


def fit_daily_budget(log: ScoredLog, budget_per_day_usd: float, policy: Policy, tolerance: float = 1e-4) -> float:
    """The smallest constant λ (most quality) whose mean predicted cost per day is within the budget.

    Predicted cost never rises with λ under the linear policy, so bisection finds the level.
    Raises:
        RouterInputError when even λ = 1 (always the cheapest model) costs more than the budget.
    """
    _check_policy(policy)
    if not budget_per_day_usd > 0:
        raise RouterInputError(f"daily budget must be a positive USD amount, got {budget_per_day_usd}")
    if replay_constant_cost_per_day(log, 0.0, policy) <= budget_per_day_usd:
        return 0.0
    cheapest = replay_constant_cost_per_day(log, 1.0, policy)
    if cheapest > budget_per_day_usd:
        raise RouterInputError(f"a budget of {usd(budget_per_day_usd)}/day is below the cheapest routing of this traffic "
                               f"({usd(cheapest)}/day at λ = 1, every request to its cheapest model)")
    low, high = 0.0, 1.0  # cost(low) > budget >= cost(high)
    while high - low > tolerance:
        middle = (low + high) / 2
        if replay_constant_cost_per_day(log, middle, policy) <= budget_per_day_usd:
            high = middle
        else:
            low = middle
    return high
