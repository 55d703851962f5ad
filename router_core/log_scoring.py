"""`score-log`: a request log of any size scored chunk by chunk into Parquet, and such a file opened again as a ScoredLog.

The Parquet file holds, per request, its timestamp, the prompt's key and every candidate's predicted quality, cost,
routing weight and answer tokens, so the schedule simulator replays it without encoding anything. Its metadata names
the router (digest) that scored it, because scores from one router mean nothing to another.
"""
from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .catalog import Catalog
from .data import count_rows, iter_request_log
from .encoder import text_key
from .errors import RouterInputError
from .schedule import ScoredLog

FORMAT = "crossroute-scored-log"
VERSION = 1
METADATA_KEY = b"crossroute"  # router and pricing, written first
SUMMARY_KEY = b"crossroute_summary"  # request and rejection counts, written when the file is complete
PER_CANDIDATE = {"weight": pa.float32(), "predicted_quality": pa.float32(), "predicted_cost_usd": pa.float64(),
                 "answer_tokens": pa.float64()}


def candidate_columns(candidates: list[str]) -> dict[str, list[str]]:
    """Per-candidate column names by kind, in candidate order (route-batch's decisions CSV names them the same way)."""
    return {kind: [f"{kind}_{name}" for name in candidates] for kind in PER_CANDIDATE}


@dataclass(frozen=True)
class LogScoringResult:
    path: Path
    requests: int  # scored rows written
    rejected: int  # rows set aside, with a reason
    first_rejection: str | None  # "row N: reason" of the first rejected row
    seconds: float


def _schema(router, has_model: bool, has_cost: bool, metadata: dict) -> pa.Schema:
    fields = [pa.field("timestamp", pa.timestamp("us", tz="UTC")), pa.field("prompt_key", pa.string()),
              pa.field("input_tokens", pa.float64())]
    if has_model:
        fields.append(pa.field("logged_model", pa.string()))
    if has_cost:
        fields.append(pa.field("logged_cost_usd", pa.float64()))
    for kind, names in candidate_columns(router.candidates).items():
        fields += [pa.field(name, PER_CANDIDATE[kind]) for name in names]
    return pa.schema(fields, metadata={METADATA_KEY: json.dumps(metadata).encode()})


def _chunk_table(frame: pd.DataFrame, router, catalog, schema: pa.Schema, progress=None) -> pa.Table:
    """One chunk of canonical log rows -> rows of the Parquet file; each distinct prompt is scored once."""
    codes, distinct = pd.factorize(frame["prompt"], sort=False)
    scores = router.scores(list(distinct), catalog=catalog, progress=progress)
    columns = {"timestamp": frame["timestamp"], "prompt_key": np.array([text_key(p) for p in distinct], dtype=object)[codes],
               "input_tokens": scores.input_tokens[codes]}
    if "logged_model" in schema.names:
        columns["logged_model"] = frame["model"].astype(object).where(frame["model"].notna(), None)
    if "logged_cost_usd" in schema.names:
        columns["logged_cost_usd"] = frame["cost_usd"].to_numpy(dtype=float)
    per_candidate = {"weight": scores.weights, "predicted_quality": scores.quality, "predicted_cost_usd": scores.cost,
                     "answer_tokens": scores.answer_tokens}
    for kind, names in candidate_columns(router.candidates).items():
        for j, name in enumerate(names):
            columns[name] = per_candidate[kind][codes, j]
    return pa.Table.from_pydict({name: columns[name] for name in schema.names}, schema=schema)


def score_log(source, router, out, mapping: dict[str, str] | None = None, catalog: Catalog | None = None,
              chunk_rows: int = 20_000, progress=None, rejected_out=None) -> LogScoringResult:
    """Score a request log into a Parquet file, `chunk_rows` rows at a time (memory stays bounded however long the log).

    Args:
        mapping: canonical field -> column, overriding the alias match (as load_request_log).
        catalog: prices to use instead of the router's own.
        progress: callable(rows done, rows in the file (estimated for CSV/JSONL)).
        rejected_out: also write the rejected rows (row number, reason, original cells) to this CSV.
    Raises:
        RouterInputError naming file, row or column; nothing is left at `out` (it is written to a temporary file and renamed).
    """
    started = time.perf_counter()
    source, out = Path(source), Path(out)
    if out.suffix.lower() != ".parquet":
        raise RouterInputError(f"{out}: the output must be a .parquet file")
    total = count_rows(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    rejected_temp = Path(rejected_out).with_name(f".{Path(rejected_out).name}.{os.getpid()}.tmp") if rejected_out else None
    writer, done, requests, rejected, first_rejection = None, 0, 0, 0, None
    try:
        for chunk in iter_request_log(source, mapping, chunk_rows):
            if len(chunk.rejected):
                if first_rejection is None:
                    first_rejection = f"row {chunk.rejected['row'].iloc[0]}: {chunk.rejected['reason'].iloc[0]}"
                if rejected_temp is not None:
                    chunk.rejected.to_csv(rejected_temp, mode="a", header=rejected == 0, index=False)
                rejected += len(chunk.rejected)
            chunk_size = len(chunk.frame) + len(chunk.rejected)
            if len(chunk.frame):
                if writer is None:
                    metadata = {"format": FORMAT, "version": VERSION, "router_id": router.id, "backend": router.backend,
                                "candidates": list(router.candidates), "cost_mode": router.pricing.cost_mode,
                                "catalog": (catalog or router.catalog).to_dict() if (catalog or router.catalog) is not None else None,
                                "source": source.name, "mapping": chunk.mapping}
                    schema = _schema(router, "model" in chunk.frame, "cost_usd" in chunk.frame, metadata)
                    writer = pq.ParquetWriter(temp, schema, compression="zstd")
                inner = (lambda d, t, base=done, size=chunk_size: progress(base + size * d / max(t, 1), total)) if progress else None
                writer.write_table(_chunk_table(chunk.frame, router, catalog, schema, inner))
                requests += len(chunk.frame)
            done += chunk_size
            if progress is not None:
                progress(done, max(total, done))
        if writer is None:
            raise RouterInputError(f"{source}: no usable request; every row was rejected (first reason: {first_rejection or 'no rows'})")
        writer.add_key_value_metadata({SUMMARY_KEY: json.dumps({"requests": requests, "rejected": rejected,
                                                                "first_rejection": first_rejection})})
        writer.close()
        os.replace(temp, out)
        if rejected_temp is not None and rejected:
            os.replace(rejected_temp, rejected_out)
    except BaseException:
        if writer is not None:
            writer.close()
        for path in (temp, rejected_temp):
            if path is not None:
                path.unlink(missing_ok=True)
        raise
    return LogScoringResult(out, requests, rejected, first_rejection, time.perf_counter() - started)


def _parquet(source, name: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(source if isinstance(source, (str, Path)) else io.BytesIO(source.read()))
    except Exception as e:  # pyarrow raises several types for a non-Parquet file
        raise RouterInputError(f"{name}: not a readable Parquet file ({type(e).__name__}: {e})") from e


def _metadata(file: pq.ParquetFile) -> dict | None:
    raw = (file.metadata.metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else None


def is_scored_log(source) -> bool:
    """Whether `source` (a path or bytes) is a Parquet file written by `score-log` (not a plain request log)."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        return (_metadata(pq.ParquetFile(source)) or {}).get("format") == FORMAT
    except Exception:  # not Parquet at all, or unreadable: then it is not ours either
        return False


def _repriced(router, cost: np.ndarray, input_tokens: np.ndarray, answer_tokens: np.ndarray, scored_with: dict | None,
              catalog: Catalog | None) -> np.ndarray:
    """The stored costs at `catalog`'s prices, priced as Router.scores prices them, so price edits need no re-scoring."""
    if catalog is None or scored_with is None:
        return cost
    catalog, before = router.pricing.catalog_for(catalog), Catalog.from_dict(scored_with).subset(router.candidates)
    if catalog.to_dict() == before.to_dict():
        return cost
    if router.pricing.cost_mode == "tokens":
        return catalog.cost_matrix(input_tokens, answer_tokens)
    return cost * (catalog.cost_matrix([1000.0]) / np.maximum(before.cost_matrix([1000.0]), 1e-15))


def read_scored_log(source, router, catalog: Catalog | None = None, name: str | None = None) -> tuple[ScoredLog, dict]:
    """Open a `score-log` Parquet file as the ScoredLog the schedule simulator replays.

    Args:
        source: a path, or a binary file-like object (then `name` names it in messages).
        catalog: re-price the stored predictions at these prices (e.g. the dashboard's edited catalog).
    Returns:
        (scored log, summary): summary holds source, requests, rejected, first_rejection and backend.
    Raises:
        RouterInputError when the file is not a score-log file, lacks a column, or was scored by another router.
    """
    name = name or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "upload"))
    file = _parquet(source, name)
    metadata = _metadata(file)
    if not metadata or metadata.get("format") != FORMAT:
        raise RouterInputError(f"{name}: not a file written by `python -m router_core score-log` (no CrossRoute metadata)")
    if metadata.get("version") != VERSION:
        raise RouterInputError(f"{name}: scored-log version {metadata.get('version')!r}; this CrossRoute reads version {VERSION}")
    if metadata.get("router_id") != router.id:
        raise RouterInputError(f"{name}: scored by another router (id {metadata.get('router_id')}, candidates "
                               f"{', '.join(metadata.get('candidates', []))}); this router is {router.id} "
                               f"({', '.join(router.candidates)}). Score the log again with this router: "
                               "`python -m router_core score-log --router FOLDER --log FILE --out FILE.parquet`")
    columns = candidate_columns(router.candidates)
    needed = ["timestamp", "prompt_key", "input_tokens"] + [c for names in columns.values() for c in names]
    missing = [c for c in needed if c not in file.schema_arrow.names]
    if missing:
        raise RouterInputError(f"{name}: column(s) {', '.join(missing)} missing; the file is damaged or not from score-log")
    optional = [c for c in ("logged_model", "logged_cost_usd") if c in file.schema_arrow.names]
    frame = file.read(columns=needed + optional).to_pandas()
    codes, keys = pd.factorize(frame["prompt_key"], sort=False)
    first = np.unique(codes, return_index=True)[1]  # one row per distinct prompt: its scores repeat on every request
    per_prompt = {kind: frame[names].to_numpy(dtype=float)[first] for kind, names in columns.items()}
    cost = _repriced(router, per_prompt["predicted_cost_usd"], frame["input_tokens"].to_numpy(dtype=float)[first],
                     per_prompt["answer_tokens"], metadata.get("catalog"), catalog)
    scored = ScoredLog(frame["timestamp"], codes, list(router.candidates), per_prompt["predicted_quality"], cost,
                       per_prompt["weight"],
                       frame["logged_model"] if "logged_model" in frame else None,
                       frame["logged_cost_usd"] if "logged_cost_usd" in frame else None)
    summary = json.loads((file.metadata.metadata or {}).get(SUMMARY_KEY, b"{}"))
    return scored, {"source": metadata.get("source"), "backend": metadata.get("backend"), "distinct_prompts": len(keys), **summary}
