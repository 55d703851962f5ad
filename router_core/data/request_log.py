"""Request logs: column matching, row parsing with reasons for every row left out, and reading logs of any size in chunks."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.data.messages import NotAPrompt, parse_prompt
from router_core.data.tables import cell_text, existing_file, read_table, table_chunks
from router_core.data.timestamps import DATE_ORDERS, AmbiguousDates, date_order, parse_timestamps
from router_core.errors import RouterInputError

# Request-log aliases, most specific first; matched case-insensitively after stripping spaces/underscores.
LOG_ALIASES = {
    "timestamp": ["timestamp", "time", "created_at", "startTime", "start_time", "datetime", "date", "ts", "request_time"],
    "prompt": ["prompt", "query", "messages", "input", "question", "request", "text"],
    "model": ["model_group", "model", "model_name", "model_id"],  # LiteLLM: model_group is the proxy's name, model the dated provider id
    "input_tokens": ["prompt_tokens", "input_tokens", "tokens_in"],
    "output_tokens": ["completion_tokens", "output_tokens", "tokens_out"],
    "cost_usd": ["spend", "cost", "cost_usd", "total_cost", "response_cost"],
    "latency_ms": ["latency_ms", "latency", "duration_ms", "response_time_ms"],
    "user": ["user", "user_id", "end_user", "api_key_alias"],
    "team": ["team", "team_id", "team_alias", "project"],
    "feedback": ["quality", "feedback", "score", "rating"],
}


LOG_REQUIRED = ("timestamp", "prompt")
DATE_ORDER = "date_order"  # not a column: how the timestamp column writes day/month/year dates (day-first, month-first)


def _normalise_name(name: str) -> str:
    return str(name).lower().replace("_", "").replace(" ", "").replace("-", "")


def match_log_columns(columns) -> dict[str, str]:
    """Map canonical request-log fields to the file's column names by alias; unmatched fields are absent."""
    by_normal = {}
    for c in columns:
        by_normal.setdefault(_normalise_name(c), c)
    mapping = {}
    used = set()
    for canonical, aliases in LOG_ALIASES.items():
        for alias in aliases:
            column = by_normal.get(_normalise_name(alias))
            if column is not None and column not in used:
                mapping[canonical] = column
                used.add(column)
                break
    return mapping


_MISSING_WORDS = {"na", "n/a", "nan", "null", "none", "-"}


def _optional_number(value, canonical: str) -> tuple[float, str]:
    """(number or NaN when absent, reason when the cell holds something that is not a usable number)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return math.nan, ""
    if isinstance(value, (bool, np.bool_)):
        return math.nan, f"{canonical} {value!r} is not a number"
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in _MISSING_WORDS:
            return math.nan, ""
        if canonical == "cost_usd" and text.startswith("$"):  # a currency sign on a USD amount, and nothing else
            text = text[1:].strip()
        try:
            number = float(text) if len(text) <= 400 else math.inf
        except ValueError:
            return math.nan, f"{canonical} {value[:40]!r} is not a number"
    elif isinstance(value, (int, float, np.integer, np.floating)):
        try:
            number = float(value)
        except OverflowError:  # an integer too big for a float
            number = math.inf
    else:
        return math.nan, f"{canonical} is a {type(value).__name__}, not a number"
    if not math.isfinite(number):
        return math.nan, f"{canonical} {number} is not a finite number"
    if canonical != "feedback" and number < 0:
        return math.nan, f"{canonical} {number:g} is negative"
    return number, ""


def _optional_text(values) -> pd.Series:
    texts = []
    for value in values:
        try:
            texts.append(cell_text(value))
        except UnicodeDecodeError:
            texts.append(None)
    return pd.Series(texts, dtype="string")


@dataclass
class RequestLog:
    """A request log in canonical columns, plus the rows that could not be used and why."""

    frame: pd.DataFrame  # timestamp (UTC), prompt, and whichever optional canonical columns were present
    rejected: pd.DataFrame  # original row number, reason, and the original cells
    mapping: dict[str, str]
    source: str
    columns: list = field(default_factory=list)  # the file's columns as read (for a chunk: that chunk's)


def resolve_log_mapping(columns, mapping: dict[str, str] | None, source: str) -> dict[str, str]:
    """Alias-matched columns overridden by `mapping`; raises naming what is missing or mapped to nothing."""
    columns = list(columns)
    mapping = {**match_log_columns(columns), **(mapping or {})}
    if mapping.get(DATE_ORDER) not in (None, *DATE_ORDERS):
        raise RouterInputError(f"{source}: date order must be one of {', '.join(DATE_ORDERS)}, got {mapping[DATE_ORDER]!r}")
    for canonical, column in mapping.items():
        if canonical == DATE_ORDER:
            continue
        if column not in columns:
            raise RouterInputError(f"{source}: mapped column {column!r} (for {canonical}) is not in the file; columns: {', '.join(map(str, columns))}")
    absent = [c for c in LOG_REQUIRED if c not in mapping]
    if absent:
        expected = "; ".join(f"{c}: one of {', '.join(LOG_ALIASES[c])}" for c in absent)
        raise RouterInputError(f"{source}: no column for {', '.join(absent)} ({expected}); found columns {', '.join(map(str, columns))}. "
                               f"Map them by hand.{spend_log_hint(columns) if 'prompt' in absent else ''}")
    return mapping


LITELLM_SPEND_COLUMNS = {"requestid", "modelgroup", "spend", "apikey", "calltype"}


def spend_log_hint(columns) -> str:
    """What to do when a LiteLLM spend log has no prompts: LiteLLM writes them only when told to."""
    if len({_normalise_name(c) for c in columns} & LITELLM_SPEND_COLUMNS) < 2:
        return ""
    return (" This looks like a LiteLLM spend log: LiteLLM keeps prompts in it only with `general_settings: "
            "{store_prompts_in_spend_logs: true}` in the proxy's config.yaml; turn that on, then export the log again "
            "(its `messages` column then holds the prompts).")


def parse_log_rows(frame: pd.DataFrame, mapping: dict[str, str], first_row: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical usable rows, and the rejected ones with their row number (counting from `first_row` + 1) and reason.

    Every cell is read on its own, so a file gives the same rows whether it is read whole or in chunks of any size.
    Args:
        mapping: from resolve_log_mapping.
        first_row: rows of the file before this frame, for a file read in chunks.
    """
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    try:
        out["timestamp"], time_reasons = parse_timestamps(frame[mapping["timestamp"]], mapping.get(DATE_ORDER))
    except AmbiguousDates as e:
        raise RouterInputError(f"column {mapping['timestamp']!r}: {e}") from e
    reasons = [f"timestamp not understood (column {mapping['timestamp']!r}): {reason}" if reason else "" for reason in time_reasons]
    messages_column = _normalise_name(mapping["prompt"]) == "messages"
    prompts = []
    for i, value in enumerate(frame[mapping["prompt"]].tolist()):
        try:
            prompt = parse_prompt(value, messages_column)
        except NotAPrompt as e:
            prompt = None
            reasons[i] = reasons[i] or f"{e} (column {mapping['prompt']!r})"
        if prompt is None:
            reasons[i] = reasons[i] or f"empty prompt (column {mapping['prompt']!r})"
        prompts.append(prompt)
    out["prompt"] = pd.Series(prompts, dtype=object)
    if "model" in mapping:
        out["model"] = _optional_text(frame[mapping["model"]].tolist())
    for canonical in ("input_tokens", "output_tokens", "cost_usd", "latency_ms", "feedback"):
        if canonical in mapping:
            parsed = [_optional_number(v, canonical) for v in frame[mapping[canonical]].tolist()]
            out[canonical] = pd.Series([number for number, _ in parsed], dtype=float)
            for i, (_, reason) in enumerate(parsed):
                if reason and not reasons[i]:
                    reasons[i] = f"{reason} (column {mapping[canonical]!r})"
    for canonical in ("user", "team"):
        if canonical in mapping:
            out[canonical] = _optional_text(frame[mapping[canonical]].tolist())
    reasons = pd.Series(reasons, index=frame.index, dtype=object)
    bad = (reasons != "").to_numpy()
    rejected = frame[bad].copy()
    rejected.insert(0, "reason", reasons[bad])
    rejected.insert(0, "row", rejected.index + 1 + first_row)
    return out[~bad].reset_index(drop=True), rejected.reset_index(drop=True)


_QUOTED = re.compile(r"(column )?'(?:[^'\\]|\\.)*'")  # a quoted column name (kept) or a cell's value (hidden)


def reason_kinds(reasons) -> Counter:
    """Rejection reasons counted by kind: reasons that differ only in the cell value they quote are one kind."""
    return Counter(_QUOTED.sub(lambda m: m[0] if m[1] else "'…'", str(r)) for r in reasons)


def format_reason_counts(kinds: Counter, limit: int = 4) -> str:
    """ "2 × empty prompt (column 'prompt'); 1 × …", most frequent first, the rest summed."""
    ranked = kinds.most_common()
    shown = [f"{n:,} × {kind}" for kind, n in ranked[:limit]]
    if len(ranked) > limit:
        shown.append(f"{sum(n for _, n in ranked[limit:]):,} × {len(ranked) - limit} other reasons")
    return "; ".join(shown)


def summarise_reasons(reasons, limit: int = 4) -> str:
    """Every rejection reason with its count, grouped by kind (reason_kinds), most frequent first."""
    return format_reason_counts(reason_kinds(reasons), limit)


ID_COLUMNS = ("query_id", "request_id", "id")  # a batch's own ids, in order of preference; else the row number


def _id_text(value) -> str | None:
    try:
        return cell_text(value)
    except UnicodeDecodeError:
        return None  # binary junk is no id: the row is set aside as having none


def prompts_from_frame(frame: pd.DataFrame, source: str, mapping: dict[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The queries of a batch to route: any table score-log reads (plain prompts or OpenAI-style `messages`), no
    timestamp needed.

    Returns:
        (usable: query_id, query; rejected: row, reason, then the row's cells), as parse_log_rows sets rows aside.
    Raises:
        RouterInputError naming the file when no column holds the queries.
    """
    frame = frame.reset_index(drop=True)
    column = (mapping or {}).get("prompt") or match_log_columns(frame.columns).get("prompt")
    if column is None or column not in frame.columns:
        raise RouterInputError(f"{source}: no query column (one of {', '.join(LOG_ALIASES['prompt'])}); found "
                               f"{', '.join(map(str, frame.columns))[:300]}")
    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    ids = [_id_text(v) for v in frame[id_column].tolist()] if id_column else [str(i + 1) for i in range(len(frame))]
    messages_column = _normalise_name(column) == "messages"
    texts, reasons = [], []
    for i, value in enumerate(frame[column].tolist()):
        try:
            text, reason = parse_prompt(value, messages_column), ""
        except NotAPrompt as e:
            text, reason = None, f"{e} (column {column!r})"
        if text is None and not reason:
            reason = f"empty query (column {column!r})"
        if not reason and ids[i] is None:
            reason = f"empty id (column {id_column!r})"
        texts.append(text)
        reasons.append(reason)
    reasons = pd.Series(reasons, dtype=object)
    bad = (reasons != "").to_numpy()
    rejected = frame[bad].copy()
    rejected.insert(0, "reason", reasons[bad])
    rejected.insert(0, "row", rejected.index + 1)
    usable = pd.DataFrame({"query_id": np.array(ids, dtype=object)[~bad], "query": np.array(texts, dtype=object)[~bad]})
    return usable, rejected.reset_index(drop=True)


def request_log_from_frame(frame: pd.DataFrame, mapping: dict[str, str] | None = None, source: str = "request log") -> RequestLog:
    """Match columns, parse timestamps and prompts, and set aside (never silently drop) unusable rows.

    Args:
        mapping: canonical field -> column, overriding the automatic alias match (e.g. from a manual form).
    """
    mapping = resolve_log_mapping(frame.columns, mapping, source)
    try:
        usable, rejected = parse_log_rows(frame, mapping)
    except RouterInputError as e:
        raise RouterInputError(f"{source}: {e}") from e
    if usable.empty:
        first = rejected["reason"].iloc[0] if len(rejected) else "no rows"
        raise RouterInputError(f"{source}: no usable request; every row was rejected (first reason: {first})"
                               f"{spend_log_hint(frame.columns) if 'empty prompt' in str(first) else ''}")
    return RequestLog(usable, rejected, mapping, source)


def load_request_log(source, mapping: dict[str, str] | None = None, name: str | None = None) -> RequestLog:
    """Read a request log file (CSV, JSONL or Parquet), matching columns by alias (LOG_ALIASES)."""
    label = name or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "upload"))
    return request_log_from_frame(read_table(source, name), mapping, source=label)


def iter_request_log(source, mapping: dict[str, str] | None = None, chunk_rows: int = 20_000):
    """Read a request log of any size in chunks; yields a RequestLog per chunk (it may have no usable row).

    Columns are matched once, on the first chunk, with the same aliases and messages as load_request_log;
    rejected rows carry their row number in the whole file.
    """
    path = existing_file(source)
    resolved, first_row = None, 0
    for frame in table_chunks(path, chunk_rows):
        if resolved is None:
            resolved = resolve_log_mapping(frame.columns, mapping, str(path))
        absent = sorted({c for k, c in resolved.items() if k != DATE_ORDER} - set(frame.columns))
        frame = frame.assign(**{column: None for column in absent})  # JSONL lines need not all carry every key
        if DATE_ORDER not in resolved:  # the first chunk that shows the dates' order decides it for the whole file
            try:
                order = date_order(str(v) for v in frame[resolved["timestamp"]].dropna().tolist())
            except AmbiguousDates:
                order = None  # the parse below says so, naming the column
            if order is not None:
                resolved = {**resolved, DATE_ORDER: order}
        try:
            usable, rejected = parse_log_rows(frame, resolved, first_row)
        except RouterInputError as e:
            raise RouterInputError(f"{path}: {e}") from e
        first_row += len(frame)
        yield RequestLog(usable, rejected, resolved, str(path), list(frame.columns))


def log_mapping(source, mapping: dict[str, str] | None = None, chunk_rows: int = 20_000) -> dict[str, str] | None:
    """The column mapping iter_request_log uses for `source` (resolved on its first chunk), without parsing a row.

    None for a file with no rows at all (a header only)."""
    path = existing_file(source)
    for frame in table_chunks(path, chunk_rows):
        return resolve_log_mapping(frame.columns, mapping, str(path))
    return None
