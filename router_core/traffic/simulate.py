"""A request log replayed under a λ policy, from file to report: what the Schedule page and `simulate` CLI verb show.

The flow: read the log (a file, its bytes, a table, a RequestLog, a `score-log` Parquet file or a log already
scored), score each distinct prompt once, replay it under the policy (live.policy: a constant, a schedule, a fitted
budget or the live budget controller; traffic.replay), and summarise per hour, per day and in total. Costs and quality
of the routed requests are the router's predictions; what the log itself spent is measured.
"""
from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.data.request_log import (
    RequestLog,
    format_reason_counts,
    load_request_log,
    request_log_from_frame,
    summarise_reasons,
)
from router_core.data.tables import read_table
from router_core.errors import RouterInputError
from router_core.files import write_text_atomic
from router_core.live.policy import LambdaPolicy, as_policy
from router_core.live.schedule import Schedule, check_timezone
from router_core.policy.rule import Policy
from router_core.traffic.replay import replay
from router_core.traffic.report import (
    calibrated,
    calibration_factors,
    cost_calibration,
    logged_cost_by_hour,
    summarise,
    totals,
)
from router_core.traffic.scored_log import ScoredLog, scored_log
from router_core.units import DAYS_PER_MONTH, usd

REPORT_VIEWS = ("request", "hour", "day")


@dataclass(frozen=True, eq=False)
class PreparedLog:
    """A request log scored by a router: what every schedule is replayed over, plus where it came from."""

    scored: ScoredLog
    source: str  # for messages: the file, and for a `score-log` file the log it was scored from
    rejected: pd.DataFrame | None = None  # unusable rows (row, reason, original cells); None when only counted
    n_rejected: int = 0
    first_rejection: str | None = None  # "row N: reason", or the reason alone
    rejection_summary: str | None = None  # every reason with its count (data.summarise_reasons)
    calibration: dict | None = None  # per-model measured ÷ predicted factors applied to `scored` (see calibrate)

    @property
    def n_requests(self) -> int:
        return len(self.scored.timestamps)

    @property
    def n_prompts(self) -> int:
        return len(self.scored.quality)


def _from_request_log(log: RequestLog, router, catalog, progress) -> PreparedLog:
    scored = scored_log(log.frame, _need(router, "score a request log"), catalog=catalog, progress=progress)
    first = None if log.rejected.empty else f"row {log.rejected['row'].iloc[0]}: {log.rejected['reason'].iloc[0]}"
    return PreparedLog(scored, log.source, log.rejected, len(log.rejected), first,
                       summarise_reasons(log.rejected["reason"]) or None)


def _from_scored_file(source, router, catalog, name: str) -> PreparedLog:
    from router_core.traffic.log_scoring import (
        read_scored_log,  # pyarrow's Parquet reader, needed for score-log files only
    )

    scored, summary = read_scored_log(source, _need(router, "open a score-log file"), catalog, name=name)
    kinds = summary.get("rejection_kinds")
    readable = isinstance(kinds, dict) and kinds and all(isinstance(n, int) and not isinstance(n, bool) for n in kinds.values())
    counted = format_reason_counts(Counter({str(k): n for k, n in kinds.items()})) if readable else summary.get("first_rejection")
    return PreparedLog(scored, f"{name} (scored by score-log from {summary.get('source')})", None,
                       int(summary.get("rejected") or 0), summary.get("first_rejection"), counted)


def _need(router, what: str):
    if router is None:
        raise RouterInputError(f"simulate: a router is needed to {what}")
    return router


def prepare_log(router, log, catalog=None, mapping: dict[str, str] | None = None, progress=None,
                name: str | None = None) -> PreparedLog:
    """Read and score a request log once; every schedule is then replayed over the result without encoding.

    Args:
        log: a path (CSV, JSONL, JSON or Parquet, or a `score-log` Parquet file), its bytes (with `name`), a table of
            log rows, a data.RequestLog, a schedule.ScoredLog (used as it is) or a PreparedLog.
        catalog: price with these prices instead of the router's own.
        mapping: canonical field -> column, overriding the automatic column match (tables and files only).
        progress: callable(done, total) while encoding.
        name: names the log in messages; for bytes, also the file type (by its suffix).
    """
    from router_core.traffic.log_scoring import (
        is_scored_log,  # pyarrow's Parquet reader: only when a log is given as a file
    )

    if isinstance(log, PreparedLog):
        return log
    if isinstance(log, ScoredLog):
        return PreparedLog(log, name or "a scored log")
    if isinstance(log, RequestLog):
        return _from_request_log(log, router, catalog, progress)
    if isinstance(log, pd.DataFrame):
        return _from_request_log(request_log_from_frame(log, mapping, source=name or "request log"), router, catalog, progress)
    if isinstance(log, (bytes, bytearray, memoryview)):
        raw, label = bytes(log), name or "upload"
        if is_scored_log(raw):
            return _from_scored_file(io.BytesIO(raw), router, catalog, label)
        return _from_request_log(request_log_from_frame(read_table(io.BytesIO(raw), label), mapping, source=label),
                                 router, catalog, progress)
    if isinstance(log, (str, Path)):
        if is_scored_log(log):
            return _from_scored_file(log, router, catalog, name or Path(log).name)
        request_log = load_request_log(log, mapping)  # the path's suffix gives the format; `name` only labels it
        return _from_request_log(replace(request_log, source=name) if name else request_log, router, catalog, progress)
    raise RouterInputError(f"simulate: the log must be a file path, its bytes, a table, a RequestLog or a ScoredLog, "
                           f"got {type(log).__name__}")


@dataclass(frozen=True, eq=False)
class ScheduleReport:
    """A λ policy replayed over a request log. Routed cost and quality are predicted by the router; the `logged_*`
    figures (where the log has them) are what the log itself recorded, i.e. measured."""

    lambda_policy: LambdaPolicy  # as replayed: a fitted budget is its constant λ
    policy: str  # the decision rule's name (linear, paper, exponential)
    source: str
    candidates: tuple[str, ...]
    requests: pd.DataFrame  # per request: timestamp, lam, model, predicted_cost_usd, predicted_quality[, logged_model, logged_cost_usd, user, team]
    by_hour: pd.DataFrame  # per hour of day, summed over days (schedule.summarise)
    by_day: pd.DataFrame  # per calendar day
    totals: dict  # schedule.totals: predicted cost, quality and savings; logged_* (measured) when the log has costs
    n_prompts: int  # distinct prompts scored
    logged_cost_by_hour: pd.Series | None = None  # measured USD per hour of day; None without a cost column
    logged_model_mix: pd.Series | None = None  # measured share of requests per logged model
    daily_usd: float | None = None  # the daily budget the policy was fitted to or holds
    n_rejected: int = 0  # rows of the log that could not be used
    first_rejection: str | None = None
    rejection_summary: str | None = None  # every reason with its count
    cost_calibration: dict | None = None  # schedule.cost_calibration: measured vs predicted cost of the logged calls
    timezone: str = "UTC"  # whose clocks the schedule's hours and the per-hour and per-day figures follow
    trace: pd.DataFrame | None = None  # the budget controller's λ at each update (budget policies only)
    calibration: dict | None = None  # per-model factors the predicted costs were multiplied by (None: not calibrated)

    @property
    def schedule(self) -> Schedule | None:
        """The weekday × hour table of λ the policy follows (a constant λ as a flat one); None for a live budget."""
        if self.lambda_policy.schedule is not None:
            return self.lambda_policy.schedule
        if self.lambda_policy.lam is not None:
            return Schedule.daily([self.lambda_policy.lam] * 24, self.lambda_policy.name or f"constant λ={self.lambda_policy.lam:g}")
        return None

    @property
    def model_mix(self) -> pd.Series:
        """Share of requests routed to each candidate (predicted), in candidate order."""
        return self.requests["model"].value_counts(normalize=True).reindex(list(self.candidates), fill_value=0.0)

    @property
    def constant_lam(self) -> float | None:
        """The λ every request got, when they all got the same (a constant or a fitted budget), else None."""
        lams = self.requests["lam"].to_numpy()
        return float(lams[0]) if len(lams) and np.all(lams == lams[0]) else None

    def to_frame(self, by: str = "request") -> pd.DataFrame:
        """One row per request (the decisions), per hour of day or per day; `predicted_*` columns are the router's
        predictions, `logged_*` ones the log's own (measured)."""
        if by not in REPORT_VIEWS:
            raise RouterInputError(f"report view {by!r}: choose one of {', '.join(REPORT_VIEWS)}")
        if by == "request":
            return self.requests.copy()
        return (self.by_hour if by == "hour" else self.by_day).reset_index()

    def write_csv(self, path: str | Path, by: str = "request") -> Path:
        """Write `to_frame(by)` to a temporary file beside `path`, then rename it into place: never a half-written file."""
        return write_text_atomic(path, self.to_frame(by).to_csv(index=False))

    def summary_lines(self) -> list[str]:
        """A short plain-text summary, each line saying whether its figures are predicted or measured."""
        t = self.totals
        best = t["best_model"]
        fitted = (": the lowest λ whose spend fits the budget (charged at the log's measured cost where it called that "
                  "model, else predicted)" if self.daily_usd is not None and self.lambda_policy.budget is None else "")
        lines = [f"λ policy: {self.lambda_policy.describe()}, decision rule {self.policy}{fitted}",
                 f"Log: {t['requests']:,} requests from {self.source} over {t['days']:g} day{'' if t['days'] == 1 else 's'}; "
                 f"{self.n_prompts:,} distinct prompts scored"]
        if self.n_rejected:
            lines.append(f"Unusable rows left out: {self.n_rejected:,} ({self.rejection_summary or self.first_rejection})")
        kind = "predicted by the router, calibrated to the log" if self.calibration is not None else "predicted by the router"
        lines += [f"Cost, {kind}: {usd(t['predicted_cost_usd'])} for the log, {usd(t['cost_per_day_usd'])} per day, "
                  f"{usd(t['monthly_cost_usd'])} per month (a month = {DAYS_PER_MONTH} days)",
                  f"Quality, predicted by the router: {t['predicted_quality']:.3f} mean per request "
                  f"({t['predicted_quality_change']:+.3f} vs everything to {best}: {t['best_model_predicted_quality']:.3f})",
                  f"Savings vs everything to {best}, predicted: {usd(t['savings_vs_best_usd'])} per month"
                  + (f" ({t['savings_vs_best_fraction']:.0%})" if np.isfinite(t["savings_vs_best_fraction"]) else ""),
                  "Model mix, predicted: " + ", ".join(f"{name} {share:.0%}" for name, share in self.model_mix.items())]
        if "logged_cost_usd" in t:
            lines.append(f"Spend recorded in the log, measured: {usd(t['logged_cost_usd'])} for the log, "
                         f"{usd(t['logged_cost_per_day_usd'])} per day, {usd(t['logged_monthly_cost_usd'])} per month "
                         f"({t['logged_requests_with_cost']:,} requests with a cost)")
            lines.append(f"Savings vs the logged spend (measured spend minus predicted cost): {usd(t['savings_vs_logged_usd'])} "
                         f"per month; per 1,000 requests {usd(t['cost_per_1k_requests_usd'])} predicted vs "
                         f"{usd(t['logged_cost_per_1k_requests_usd'])} logged")
        if self.cost_calibration is not None:
            c = self.cost_calibration
            lines.append(f"Cost calibration on {c['requests']:,} logged calls to a candidate: measured {usd(c['measured_usd'])}, "
                         f"predicted {usd(c['predicted_usd'])} (measured ÷ predicted = {c['ratio']:.2f})")
        if self.calibration is not None:
            lines.append("Predicted costs calibrated to the log, per model measured ÷ predicted: "
                         + ", ".join(f"{name} ×{factor:.2f}" for name, factor in self.calibration.items())
                         + " (--no-calibration: the router's own predictions)")
        if self.logged_model_mix is not None:
            lines.append("Model mix recorded in the log, measured: "
                         + ", ".join(f"{name} {share:.0%}" for name, share in self.logged_model_mix.items()))
        return lines


def calibrate(prepared: PreparedLog, on: bool = True) -> PreparedLog:
    """`prepared` with predicted costs calibrated per model to what the log measured (report.calibration_factors),
    when `on` and the log has calls to compare; as it is otherwise. The factors used are in `.calibration`."""
    factors = calibration_factors(prepared.scored) if on else None
    if factors is None:
        return prepared
    return replace(prepared, scored=calibrated(prepared.scored, factors),
                   calibration={"factors": factors, "before": cost_calibration(prepared.scored)})


def build_report(prepared: PreparedLog, lambda_policy, rule: Policy, timezone: str = "UTC") -> ScheduleReport:
    """Replay a scored log under a λ policy and summarise it (pure arithmetic over the scores); the hours of a schedule,
    and the per-hour and per-day figures, are on the clocks of `timezone` (a LambdaPolicy keeps its own)."""
    log = prepared.scored
    asked = as_policy(lambda_policy, timezone)
    result = replay(log, asked, rule, None if isinstance(lambda_policy, LambdaPolicy) else timezone)
    timezone = result.policy.timezone
    requests = result.requests.drop(columns=["time", "prompt", "charged_usd"])
    if log.logged_model is not None:
        requests["logged_model"] = log.logged_model.to_numpy()
    if log.logged_cost is not None:
        requests["logged_cost_usd"] = log.logged_cost.to_numpy(dtype=float)
    for group, values in (log.groups or {}).items():
        requests[group] = values.to_numpy(dtype=object)
    logged_mix = None
    if log.logged_model is not None and log.logged_model.notna().any():
        logged_mix = log.logged_model.value_counts(normalize=True)
    daily = asked.fitted_budget if asked.fitted_budget is not None else asked.budget.daily_usd if asked.budget else None
    return ScheduleReport(result.policy, rule.name, prepared.source, tuple(log.candidates), requests,
                          summarise(requests, "hour", timezone), summarise(requests, "day", timezone), totals(log, requests),
                          prepared.n_prompts, logged_cost_by_hour(log, timezone), logged_mix, daily,
                          prepared.n_rejected, prepared.first_rejection, prepared.rejection_summary,
                          prepared.calibration["before"] if prepared.calibration else cost_calibration(log),
                          timezone, result.trace if asked.budget is not None else None,
                          prepared.calibration["factors"] if prepared.calibration else None)


def simulate(router, log, lambda_policy="business-hours", catalog=None, policy: str | Policy = "linear", progress=None,
             mapping: dict[str, str] | None = None, name: str | None = None, timezone: str = "UTC",
             calibrate_costs: bool = False) -> ScheduleReport:
    """Replay a request log under a λ policy with a router's predictions.

    Args:
        router: scores the log and supplies the decision rule; may be None for a ScoredLog when `policy` is a Policy.
        log: see prepare_log (a file path, bytes with `name`, a table, a RequestLog, a ScoredLog or a PreparedLog).
        lambda_policy: a LambdaPolicy, a Schedule, or a short form / YAML file (live.policy.policy_from_spec):
            `business-hours`, `constant:0.3`, `budget:50` (the live controller), `fitted-budget:50`.
        catalog: price with these prices instead of the router's own (ignored for a log already scored).
        policy: a decision-rule name (router.policy(name)) or a Policy.
        timezone: IANA name whose clocks a schedule's hours follow (default UTC, as log timestamps are stored).
        calibrate_costs: multiply each model's predicted cost by what the log measured ÷ predicted for it (calibrate).
    Raises:
        RouterInputError for an unreadable log, a bad policy (naming it and the allowed forms) or an unreachable budget.
    """
    rule = policy if isinstance(policy, Policy) else _need(router, f"make the {policy!r} policy").policy(policy)
    prepared = calibrate(prepare_log(router, log, catalog, mapping, progress, name), calibrate_costs)
    return build_report(prepared, lambda_policy, rule, check_timezone(timezone))
