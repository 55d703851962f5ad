"""Every read of the decision log, with SQL (never loaded whole): the rows since an id (a budget's evidence), rows
since a time (the `decisions` verb), and what the Monitoring page draws: requests over time, model mix, λ and its
source, spend against a budget, predicted against measured cost per model, fallbacks and errors, routing latency, and
where the routing weight goes by hour. Every figure is measured from the log, except the predicted costs and the
routing weights, which are the router's predictions recorded with each decision."""
from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.decisionlog.schema import (
    CHARGED_USD_SQL,
    FAILED_SQL,
    JSON_COLUMNS,
    LOG_FILE,
    PRICED_SQL,
    Status,
    log_file,
)
from router_core.decisionlog.store import ROLLUP_SUMS
from router_core.errors import RouterInputError

WEIGHT_SAMPLE = 20000  # decisions whose per-model weights are averaged by hour (JSON is parsed for these only)


@dataclass(frozen=True)
class Filters:
    start: float | None = None  # unix seconds
    end: float | None = None
    user: str | None = None
    team: str | None = None
    model: str | None = None

    def where(self) -> tuple[str, list]:
        clauses, params = [], []
        for column, op, value in (("ts", ">=", self.start), ("ts", "<", self.end), ("user", "=", self.user),
                                  ("team", "=", self.team), ("model", "=", self.model)):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


class LogConnection(sqlite3.Connection):
    """A read-only connection that knows which columns the log has: a log written by an older CrossRoute lacks the
    newer ones, which then read as empty."""

    columns: frozenset = frozenset()
    rollup_columns: frozenset = frozenset()

    def column(self, name: str, empty: str = "NULL") -> str:
        return name if name in self.columns else empty

    def rollup_column(self, name: str) -> str:
        return name if name in self.rollup_columns else "0"


def connect(folder_or_file: str | Path) -> LogConnection:
    """Read-only connection to a decision log (its folder or the .sqlite file)."""
    path = log_file(folder_or_file)
    if not path.is_file():
        raise RouterInputError(f"{path}: no decision log here (the server writes {LOG_FILE} under its --log folder)")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False,
                                     factory=LogConnection)
        connection.execute("SELECT ts, model, lam, lam_source, cost_usd, routing_ms FROM decisions LIMIT 1").fetchall()
        connection.columns = frozenset(r[1] for r in connection.execute("PRAGMA table_info(decisions)"))
        connection.rollup_columns = frozenset(r[1] for r in connection.execute("PRAGMA table_info(rollup)"))
    except sqlite3.Error as e:
        raise RouterInputError(f"{path}: not a CrossRoute decision log ({e})") from e
    return connection


def _column(connection, name: str) -> str:
    """`name`, or NULL when the log (an older one) lacks that column."""
    return connection.column(name) if isinstance(connection, LogConnection) else name


def span(connection) -> tuple[float | None, float | None, int]:
    first, last, n = connection.execute("SELECT MIN(ts), MAX(ts), COUNT(*) FROM decisions").fetchone()
    return first, last, int(n or 0)


def choices(connection, column: str, recent: int = 100_000) -> list[str]:
    """Values of user, team or model among the newest `recent` decisions (for the filters), most frequent first, at
    most 200."""
    if column not in ("user", "team", "model"):
        raise ValueError(column)
    rows = connection.execute(f"SELECT {column}, COUNT(*) AS n FROM (SELECT {column} FROM decisions ORDER BY ts DESC LIMIT ?) "
                              f"WHERE {column} IS NOT NULL GROUP BY {column} ORDER BY n DESC LIMIT 200", (recent,)).fetchall()
    return [r[0] for r in rows]


TARGET_BUCKETS = 240  # bars per chart: a log minutes old gets seconds, months of traffic days
LADDER = (1, 5, 10, 30, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400)


def bucket_seconds(start: float, end: float) -> int:
    """The narrowest width of the ladder (1 s … 1 day) that cuts the span into at most TARGET_BUCKETS buckets."""
    span = max(end - start, 1.0)
    return next((w for w in LADDER if span / w <= TARGET_BUCKETS), 7 * 86400)


def _frame(connection, sql: str, params) -> pd.DataFrame:
    return pd.read_sql_query(sql, connection, params=params)


def scan(connection, filters: Filters, width: int, prefer_rollup: bool = True) -> pd.DataFrame:
    """Per time bucket, answering model and λ source: the counts and sums every time chart and the cost table are
    made of. Read from the log's per-minute rollup when it covers every decision and no user or team filter applies
    (thousands of rows for millions of decisions); else one pass over the decisions' narrow covering index."""
    if prefer_rollup and width >= 60 and filters.user is None and filters.team is None and _rollup_complete(connection):
        clauses, params = [], []
        for column, op, value in (("minute", ">=", None if filters.start is None else int(filters.start // 60)),
                                  ("minute", "<", None if filters.end is None else int(-(-filters.end // 60))),
                                  ("model", "=", filters.model)):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        sums = ", ".join(f"TOTAL({connection.rollup_column(c) if isinstance(connection, LogConnection) else c}) AS {c}"
                         for c in ROLLUP_SUMS)
        frame = _frame(connection, f"SELECT CAST(minute * 60 / {width} AS INTEGER) * {width} AS t, model, source, {sums} "
                                   f"FROM rollup {where} GROUP BY t, model, source", params)
    else:
        where, params = filters.where()
        frame = _frame(connection, f"""SELECT CAST(ts / {width} AS INTEGER) * {width} AS t, COALESCE(model, '(none)') AS model,
            COALESCE(lam_source, '?') AS source, COUNT(*) AS requests, TOTAL({FAILED_SQL}) AS failed,
            TOTAL(fallback_reason IS NOT NULL) AS fell_back, TOTAL({CHARGED_USD_SQL}) AS spend_usd, TOTAL(lam) AS lam_sum,
            COUNT(lam) AS lam_n, TOTAL({PRICED_SQL}) AS priced,
            TOTAL(CASE WHEN {PRICED_SQL} THEN predicted_cost_usd END) AS priced_predicted,
            TOTAL(CASE WHEN {PRICED_SQL} THEN cost_usd END) AS priced_measured,
            TOTAL({_column(connection, "degraded")} IS NOT NULL) AS degraded
            FROM decisions {where} GROUP BY t, model, source""", params)
    frame["time"] = pd.to_datetime(frame["t"], unit="s", utc=True)
    frame.attrs["width"] = width
    first = frame["t"].min() if len(frame) else 0
    frame.attrs["first"] = int(filters.start // width * width) if filters.start is not None else int(first)
    frame.attrs["last"] = int(frame["t"].max()) if len(frame) else frame.attrs["first"]
    return frame


def bucket_times(scanned: pd.DataFrame) -> pd.DatetimeIndex:
    """Every bucket from the range's start to the newest decision, empty ones included (a chart shows them as
    nothing happening, never as a line drawn across them)."""
    width = scanned.attrs["width"]
    first, last = scanned.attrs.get("first", 0), scanned.attrs.get("last", 0)
    return pd.to_datetime(np.arange(first, last + width, width), unit="s", utc=True)


def _rollup_complete(connection) -> bool:
    try:
        in_rollup = connection.execute("SELECT TOTAL(requests) FROM rollup").fetchone()[0]
    except sqlite3.Error:  # a log from before the rollup existed
        return False
    return int(in_rollup) == connection.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]


def over_time(scanned: pd.DataFrame) -> pd.DataFrame:
    """Per time bucket: requests, failures, fallbacks, degraded decisions, measured spend, mean λ, requests per minute."""
    frame = scanned.groupby("time")[["requests", "failed", "fell_back", "degraded", "spend_usd", "lam_sum", "lam_n"]].sum()
    frame = frame.reindex(bucket_times(scanned), fill_value=0).rename_axis("time").reset_index()
    frame.attrs["width"] = scanned.attrs["width"]
    frame["mean_lambda"] = frame["lam_sum"] / frame["lam_n"].where(frame["lam_n"] > 0)
    frame["requests_per_minute"] = frame["requests"] / (scanned.attrs["width"] / 60)
    return frame


def model_mix(scanned: pd.DataFrame) -> pd.DataFrame:
    """Per time bucket (empty ones included, with no rows) and model answering: requests."""
    frame = scanned.groupby(["time", "model"], as_index=False)["requests"].sum()
    frame.attrs.update(scanned.attrs)
    return frame


def lambda_sources(scanned: pd.DataFrame) -> pd.DataFrame:
    """Per time bucket and λ source: mean λ and requests."""
    frame = scanned.groupby(["time", "source"], as_index=False)[["lam_sum", "lam_n", "requests"]].sum()
    frame["mean_lambda"] = frame["lam_sum"] / frame["lam_n"].where(frame["lam_n"] > 0)
    return frame.dropna(subset=["mean_lambda"])


def cost_by_model(scanned: pd.DataFrame) -> pd.DataFrame:
    """Per model answering, hard-routed successful requests with a prediction: predicted and measured USD."""
    frame = scanned.groupby("model", as_index=False)[["priced", "priced_predicted", "priced_measured"]].sum()
    frame = frame[frame["priced"] > 0].rename(columns={"priced": "requests", "priced_predicted": "predicted_usd",
                                                       "priced_measured": "measured_usd"})
    frame["measured_vs_predicted"] = frame["measured_usd"] / frame["predicted_usd"].where(frame["predicted_usd"] > 0)
    return frame.sort_values("requests", ascending=False).reset_index(drop=True)


def reasons(connection, filters: Filters) -> pd.DataFrame:
    """Degraded decisions, fallbacks and failures by kind."""
    where, params = filters.where()
    degraded = _column(connection, "degraded")
    frame = _frame(connection, f"""SELECT CASE
            WHEN {FAILED_SQL} THEN 'failed: every model'
            WHEN status = 'cancelled' THEN 'cancelled: the client left mid-stream'
            WHEN {degraded} = 'queue' THEN 'degraded: scorer queue full'
            WHEN {degraded} = 'timeout' THEN 'degraded: scoring past the time limit'
            WHEN {degraded} LIKE 'error%' THEN 'degraded: scoring failed'
            WHEN fallback_reason LIKE 'routing took over%' THEN 'fallback: routing timeout'
            WHEN fallback_reason LIKE 'routing failed%' THEN 'fallback: routing error'
            WHEN fallback_reason LIKE 'aggregator%' THEN 'fallback: aggregator failed'
            WHEN fallback_reason IS NOT NULL THEN 'fallback: model failed'
            ELSE NULL END AS kind, COUNT(*) AS requests
        FROM decisions {where} GROUP BY kind HAVING kind IS NOT NULL ORDER BY requests DESC""", params)
    return frame


def shadow_summary(connection, filters: Filters) -> dict | None:
    """A router in shadow against the router that acted: requests it decided, how often it chose the model the
    router routed to, and both predicted costs per request (None without shadow decisions)."""
    if _column(connection, "shadow_model") == "NULL":
        return None
    where, params = filters.where()
    extra = ("AND" if where else "WHERE") + " shadow_model IS NOT NULL AND top_k = 1"
    row = connection.execute(f"""SELECT COUNT(*), TOTAL(shadow_model = json_extract(called, '$[0]')),
        AVG(predicted_cost_usd), AVG(shadow_predicted_cost_usd), MAX(shadow_router) FROM decisions {where} {extra}""",
                             params).fetchone()
    if not row or not row[0]:
        return None
    return {"requests": int(row[0]), "agreement": float(row[1]) / row[0], "predicted_cost_usd": row[2],
            "shadow_predicted_cost_usd": row[3], "shadow_router": row[4]}


def routing_latency(connection, filters: Filters) -> dict | None:
    """p50 and p99 routing time in ms, from a histogram the database counts (log-spaced bins 5% wide, from 0.01 ms)."""
    where, params = filters.where()
    extra = ("AND" if where else "WHERE") + " routing_ms IS NOT NULL"
    ratio = float(np.log(1.05))
    rows = connection.execute(f"SELECT CAST(floor(ln(max(routing_ms, 0.01) / 0.01) / {ratio!r}) AS INTEGER) AS bin, "
                              f"COUNT(*) FROM decisions {where} {extra} GROUP BY bin ORDER BY bin", params).fetchall()
    if not rows:
        return None
    bins = np.array([r[0] for r in rows])
    cumulative = np.cumsum([r[1] for r in rows]) / sum(r[1] for r in rows)
    upper = 0.01 * np.exp((bins + 1) * ratio)  # each bin's upper edge: the percentile is at most this

    def at(q: float) -> float:
        return float(upper[min(np.searchsorted(cumulative, q), len(upper) - 1)])

    return {"p50_ms": at(0.5), "p99_ms": at(0.99), "requests": int(sum(r[1] for r in rows))}


def weights_by_hour(connection, filters: Filters, sample: int = WEIGHT_SAMPLE) -> tuple[pd.DataFrame, int]:
    """Mean routing weight per model per hour of day (UTC), over the newest `sample` decisions in the filter."""
    where, params = filters.where()
    extra = ("AND" if where else "WHERE") + " candidates IS NOT NULL"
    rows = connection.execute(f"SELECT ts, candidates FROM decisions {where} {extra} ORDER BY ts DESC LIMIT ?",
                              [*params, sample]).fetchall()
    records = []
    for ts, candidates in rows:
        try:
            per = json.loads(candidates)
        except ValueError:
            continue
        hour = time.gmtime(ts).tm_hour
        records += [(hour, model, values.get("weight")) for model, values in per.items() if isinstance(values, dict)]
    frame = pd.DataFrame(records, columns=["hour", "model", "weight"]).dropna()
    if frame.empty:
        return frame, 0
    return frame.groupby(["hour", "model"], as_index=False)["weight"].mean(), len(rows)


def read_decisions(folder: str | Path, since: float | None = None) -> pd.DataFrame:
    """The log's rows (all, or those at or after unix time `since`), oldest first; JSON columns parsed."""
    path = log_file(folder)
    if not path.is_file():
        raise RouterInputError(f"{path}: no decision log here (the server writes {LOG_FILE} under its --log folder)")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            where, params = ("WHERE ts >= ?", (since,)) if since is not None else ("", ())
            frame = pd.read_sql_query(f"SELECT * FROM decisions {where} ORDER BY ts, id", connection, params=params)
        finally:
            connection.close()
    except (sqlite3.Error, pd.errors.DatabaseError) as e:
        raise RouterInputError(f"{path}: not a readable decision log ({e})") from e
    for column in JSON_COLUMNS:
        frame[column] = [_json(v) for v in frame[column]]
    return frame


def _json(value):
    try:
        return json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Charge:
    """One logged request as a daily budget sees it: when, what each model was predicted to cost and be worth, what
    was called and the USD charged for it (measured, or predicted for a routed row)."""

    id: int
    ts: float
    candidates: dict | None
    called: list
    charged_usd: float


def charges_since(folder: str | Path, after_id: int, since_ts: float) -> list[Charge]:
    """The requests logged after row `after_id` and at or after `since_ts`, in time order, by every writer of the log:
    the evidence a budget controller is fed. Raises sqlite3.Error when the log cannot be read."""
    path = log_file(folder)
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = connection.execute(f"SELECT id, ts, candidates, called, {CHARGED_USD_SQL} FROM decisions WHERE id > ? "
                                  f"AND ts >= ? AND NOT ({FAILED_SQL} AND cost_usd IS NULL) ORDER BY ts, id",
                                  (after_id, since_ts)).fetchall()
    finally:
        connection.close()
    return [Charge(int(i), float(ts), _json(candidates), _json(called) or [], float(cost or 0.0))
            for i, ts, candidates, called, cost in rows]


def answered(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a read_decisions frame that got an answer (from the server or through LiteLLM)."""
    return frame[frame.status.isin([Status.OK.value, Status.ROUTED.value])]


_SINCE = re.compile(r"^(?P<n>[0-9]+(?:\.[0-9]+)?)(?P<unit>[smhd])$")


def since_seconds(text: str) -> float:
    """'30m', '1h', '7d' -> seconds."""
    match = _SINCE.match(text.strip())
    if match is None:
        raise RouterInputError(f"--since: expected a duration such as 30m, 1h or 7d, got {text!r}")
    return float(match["n"]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match["unit"]]


def _latency_line(routing_ms: pd.Series) -> str:
    timed = routing_ms.dropna()
    if timed.empty:  # e.g. a replayed log, or decisions made before scoring was timed
        return "routing latency: not recorded for these decisions"
    return f"routing latency p50 {timed.median():.1f} ms, p99 {timed.quantile(0.99):.1f} ms ({len(timed):,} timed)"


def summarise(frame: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """Headline lines and a per-model table of a decision log's rows (all measured, from the log)."""
    if frame.empty:
        return ["no decisions in this period"], pd.DataFrame()
    ok = answered(frame)
    lines = [f"{len(frame):,} requests from {pd.to_datetime(frame.ts.min(), unit='s', utc=True):%Y-%m-%d %H:%M} to "
             f"{pd.to_datetime(frame.ts.max(), unit='s', utc=True):%Y-%m-%d %H:%M} UTC; {len(frame) - len(ok)} failed "
             f"(every model failed); {int(ok.fallback_reason.notna().sum())} answered by a fallback",
             f"measured spend ${ok.cost_usd.sum():.4f} (predicted ${ok.predicted_cost_usd.sum():.4f}); mean λ {frame.lam.mean():.2f}",
             _latency_line(ok.routing_ms)]
    table = ok.groupby("model").agg(requests=("request_id", "size"), share=("request_id", lambda s: len(s) / len(ok)),
                                    cost_usd=("cost_usd", "sum"), input_tokens=("input_tokens", "sum"),
                                    output_tokens=("output_tokens", "sum")).sort_values("requests", ascending=False)
    return lines, table


def read_since(folder: str | Path, since: str | None) -> pd.DataFrame:
    """The rows of the last `since` ('30m', '1h', '7d'; all when None)."""
    return read_decisions(folder, time.time() - since_seconds(since) if since else None)
