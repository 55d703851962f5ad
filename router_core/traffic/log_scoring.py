"""`score-log`: a request log of any size scored chunk by chunk into Parquet, and such a file opened again as a ScoredLog.

The Parquet file holds, per request, its timestamp, the prompt's key and every candidate's predicted quality, cost,
routing weight and answer tokens, so the schedule simulator replays it without encoding anything. Its metadata names
the router (digest) that scored it, because scores from one router mean nothing to another.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from router_core.data.catalog import Catalog, catalog_names
from router_core.data.request_log import (
    format_reason_counts,
    iter_request_log,
    reason_kinds,
    spend_log_hint,
)
from router_core.data.tables import count_rows
from router_core.errors import RouterInputError
from router_core.files import file_sha256, process_running
from router_core.model.text import text_key
from router_core.traffic.scored_log import ScoredLog

FORMAT = "crossroute-scored-log"
VERSION = 1
METADATA_KEY = b"crossroute"  # router and pricing, written first
SUMMARY_KEY = b"crossroute_summary"  # request and rejection counts, written when the file is complete
MAX_REASON_KINDS = 50  # kinds of rejection kept in the summary; the rejected-rows CSV has every row
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
    rejection_summary: str | None  # every reason with its count (data.summarise_reasons)
    seconds: float


GROUP_COLUMNS = ("user", "team")  # who sent a request, where the log says: kept for per-team breakdowns


def _schema(router, has_model: bool, has_cost: bool, metadata: dict, groups: tuple[str, ...] = ()) -> pa.Schema:
    fields = [pa.field("timestamp", pa.timestamp("us", tz="UTC")), pa.field("prompt_key", pa.string()),
              pa.field("input_tokens", pa.float64())]
    fields += [pa.field(group, pa.string()) for group in groups]
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
    for group in GROUP_COLUMNS:
        if group in schema.names:
            columns[group] = frame[group].astype(object).where(frame[group].notna(), None)
    if "logged_model" in schema.names:
        logged = catalog_names(frame["model"], catalog or router.catalog)
        columns["logged_model"] = logged.astype(object).where(logged.notna(), None)
    if "logged_cost_usd" in schema.names:
        columns["logged_cost_usd"] = frame["cost_usd"].to_numpy(dtype=float)
    per_candidate = {"weight": scores.weights, "predicted_quality": scores.quality, "predicted_cost_usd": scores.cost,
                     "answer_tokens": scores.answer_tokens}
    for kind, names in candidate_columns(router.candidates).items():
        for j, name in enumerate(names):
            columns[name] = per_candidate[kind][codes, j]
    return pa.Table.from_pydict({name: columns[name] for name in schema.names}, schema=schema)


def _journal(out: Path) -> Path:
    return out.with_name(f".{out.name}.commit.json")


def _temp_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def recover_outputs(out, rejected_out=None) -> None:
    """Finish a score-log run killed while renaming its outputs, and remove temporary files of dead runs.

    The outputs are committed by a journal written once both temporary files are complete, so a killed run
    leaves either the old pair, or a journal from which the new pair is completed here.
    """
    out = Path(out)
    journal = _journal(out)
    try:
        if journal.exists():
            try:
                moves = json.loads(journal.read_text(encoding="utf-8"))["moves"]
            except (ValueError, KeyError, TypeError):
                moves = []  # a journal is written atomically, so an unreadable one is not ours: nothing to finish
            for temp, final in moves:
                if Path(temp).exists():
                    os.replace(temp, final)
            journal.unlink(missing_ok=True)
        for final in [out, journal] + ([Path(rejected_out)] if rejected_out else []):
            for temp in final.parent.glob(f".{glob_escape(final.name)}.*.tmp"):
                pid = temp.name[len(final.name) + 2:-len(".tmp")]
                if pid.isdigit() and not process_running(int(pid)):
                    temp.unlink(missing_ok=True)
    except OSError as e:
        raise RouterInputError(f"{e.filename or out}: cannot tidy up an earlier run ({e.strerror or e})") from e


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


class _RejectedWriter:
    """Rejected rows appended to a CSV with one fixed column set: the first chunk's columns, plus `other_fields`
    (JSON) for JSONL keys that appear only later."""

    def __init__(self, path: Path | None, extra_column: bool):
        self.path, self.extra_column, self.columns = path, extra_column, None

    def add(self, rejected: pd.DataFrame, frame_columns) -> None:
        if self.path is None:
            return
        if self.columns is None:
            self.columns = ["row", "reason"] + [str(c) for c in frame_columns] + (["other_fields"] if self.extra_column else [])
            pd.DataFrame(columns=self.columns).to_csv(self.path, index=False)
        if rejected.empty:
            return
        rejected = rejected.rename(columns=str)
        extra = [c for c in rejected.columns if c not in self.columns]
        fixed = rejected.reindex(columns=self.columns)
        if self.extra_column:
            fixed["other_fields"] = ([json.dumps({c: v for c, v in row.items() if not _is_missing(v)}, default=str)
                                      for row in rejected[extra].to_dict("records")] if extra else "")
        fixed.to_csv(self.path, mode="a", header=False, index=False)

    def finish(self) -> None:
        if self.path is not None and self.columns is None:
            pd.DataFrame(columns=["row", "reason"]).to_csv(self.path, index=False)


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def score_log(source, router, out, mapping: dict[str, str] | None = None, catalog: Catalog | None = None,
              chunk_rows: int = 20_000, progress=None, rejected_out=None) -> LogScoringResult:
    """Score a request log into a Parquet file, `chunk_rows` rows at a time (memory stays bounded however long the log).

    Args:
        mapping: canonical field -> column, overriding the alias match (as load_request_log).
        catalog: prices to use instead of the router's own.
        progress: callable(rows done, rows in the file (estimated for CSV/JSONL)).
        rejected_out: also write the rejected rows (row number, reason, original cells) to this CSV; it is replaced
            even when no row is rejected, and the Parquet metadata records its row count and digest.
    Raises:
        RouterInputError naming file, row or column, or the output that could not be written (e.g. a full disk);
        the previous outputs stay as they were until both new files are complete.
    """
    started = time.perf_counter()
    source, out = Path(source), Path(out)
    rejected_out = Path(rejected_out) if rejected_out else None
    if out.suffix.lower() != ".parquet":
        raise RouterInputError(f"{out}: the output must be a .parquet file")
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise RouterInputError(f"chunk_rows must be a whole number >= 1, got {chunk_rows!r}")
    total = count_rows(source)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if rejected_out is not None:
            rejected_out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RouterInputError(f"{e.filename or out}: cannot create the output folder ({e.strerror or e})") from e
    recover_outputs(out, rejected_out)
    temp = _temp_for(out)
    rejected_temp = _temp_for(rejected_out) if rejected_out is not None else None
    rejected_writer = _RejectedWriter(rejected_temp, extra_column=source.suffix.lower() == ".jsonl")
    writer, done, requests, rejected, first_rejection, kinds = None, 0, 0, 0, None, Counter()
    columns: list = []
    try:
        for chunk in iter_request_log(source, mapping, chunk_rows):
            columns = chunk.columns
            rejected_writer.add(chunk.rejected, chunk.columns)
            if len(chunk.rejected):
                if first_rejection is None:
                    first_rejection = f"row {chunk.rejected['row'].iloc[0]}: {chunk.rejected['reason'].iloc[0]}"
                rejected += len(chunk.rejected)
                kinds.update(reason_kinds(chunk.rejected["reason"]))
            chunk_size = len(chunk.frame) + len(chunk.rejected)
            if len(chunk.frame):
                if writer is None:
                    metadata = {"format": FORMAT, "version": VERSION, "router_id": router.id, "backend": router.backend,
                                "candidates": list(router.candidates), "cost_mode": router.pricing.cost_mode,
                                "catalog": (catalog or router.catalog).to_dict() if (catalog or router.catalog) is not None else None,
                                "source": source.name, "mapping": chunk.mapping}
                    schema = _schema(router, "model" in chunk.frame, "cost_usd" in chunk.frame, metadata,
                                     tuple(g for g in GROUP_COLUMNS if g in chunk.frame))
                    writer = pq.ParquetWriter(temp, schema, compression="zstd")
                inner = (lambda d, t, base=done, size=chunk_size: progress(base + size * d / max(t, 1), total)) if progress else None
                writer.write_table(_chunk_table(chunk.frame, router, catalog, schema, inner))
                requests += len(chunk.frame)
            done += chunk_size
            if progress is not None:
                progress(done, max(total, done))
        if writer is None:
            hint = spend_log_hint(columns) if "empty prompt" in str(first_rejection) else ""
            raise RouterInputError(f"{source}: no usable request; every row was rejected (first reason: "
                                   f"{first_rejection or 'no rows'}){hint}")
        rejected_writer.finish()
        summary = {"requests": requests, "rejected": rejected, "first_rejection": first_rejection,
                   "rejection_kinds": dict(kinds.most_common(MAX_REASON_KINDS))}
        if rejected_temp is not None:
            summary.update(rejected_file=rejected_out.name, rejected_sha256=file_sha256(rejected_temp))
        writer.add_key_value_metadata({SUMMARY_KEY: json.dumps(summary)})
        writer.close()
        writer = None
        moves = ([[str(rejected_temp), str(rejected_out)]] if rejected_temp is not None else []) + [[str(temp), str(out)]]
        journal_temp = _temp_for(_journal(out))
        journal_temp.write_text(json.dumps({"moves": moves}), encoding="utf-8")
        os.replace(journal_temp, _journal(out))  # from here on the new pair is committed
        for temp_path, final in moves:
            os.replace(temp_path, final)
        _journal(out).unlink(missing_ok=True)
    except BaseException as e:
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass  # the write that failed is reported below; the half-written file is removed
        if not _journal(out).exists():
            for path in (temp, rejected_temp, _temp_for(_journal(out))):
                if path is not None:
                    path.unlink(missing_ok=True)
        if isinstance(e, OSError):
            where = e.filename or out
            raise RouterInputError(f"{where}: could not write the scored log ({e.strerror or e}); the previous outputs "
                                   "are unchanged") from e
        raise
    return LogScoringResult(out, requests, rejected, first_rejection, format_reason_counts(kinds) or None,
                            time.perf_counter() - started)


def _parquet(source, name: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(source if isinstance(source, (str, Path)) else io.BytesIO(source.read()))
    except Exception as e:  # pyarrow raises several types for a non-Parquet file
        raise RouterInputError(f"{name}: not a readable Parquet file ({type(e).__name__}: {e})") from e


def _metadata(file: pq.ParquetFile) -> dict | None:
    raw = (file.metadata.metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else None


MANIFEST = "_crossroute.json"  # a folder of parts written by `score-log --engine ray` (router_core.traffic.ray_scoring)


def _scored_folder(source) -> Path | None:
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        return Path(source)
    return None


def is_scored_log(source) -> bool:
    """Whether `source` (a path or bytes) is a Parquet file or a folder of parts written by `score-log`."""
    if (folder := _scored_folder(source)) is not None:
        return (folder / MANIFEST).is_file()
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        return (_metadata(pq.ParquetFile(source)) or {}).get("format") == FORMAT
    except Exception:  # not Parquet at all, or unreadable: then it is not ours either
        return False


def scored_log_identity(path: str | Path) -> str:
    """A digest that changes whenever the scored file or folder at `path` is written again (for caches keyed by it)."""
    path = Path(path)
    marker = path / MANIFEST if path.is_dir() else path
    try:
        stat = marker.stat()
    except OSError as e:
        raise RouterInputError(f"{path}: no scored log here ({e.strerror})") from e
    return hashlib.sha256(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:24]


def _open_folder(folder: Path, name: str):
    """(metadata, summary, Arrow dataset over the listed parts) of a scored folder; nothing is read but the footers."""
    import pyarrow.dataset as ds  # Arrow's multi-file reader: for folders of parts only

    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        parts = [folder / part for part in manifest["parts"]]
    except FileNotFoundError as e:
        raise RouterInputError(f"{name}: a folder without {MANIFEST}; not a finished `score-log --engine ray` run") from e
    except (ValueError, KeyError, TypeError) as e:
        raise RouterInputError(f"{name}/{MANIFEST}: not a readable manifest ({e})") from e
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise RouterInputError(f"{name}: part(s) {', '.join(missing[:3])} listed in {MANIFEST} are missing; score the log again")
    try:
        dataset = ds.dataset([str(p) for p in parts], format="parquet")
    except Exception as e:  # pyarrow raises several types for a damaged part
        raise RouterInputError(f"{name}: a part is not readable Parquet ({type(e).__name__}: {e})") from e
    summary = {k: manifest.get(k) for k in ("requests", "rejected", "first_rejection", "rejection_kinds")}
    return manifest, summary, dataset


def _repriced(router, cost: np.ndarray, input_tokens: np.ndarray, answer_tokens: np.ndarray, scored_with: dict | None,
              catalog: Catalog | None) -> np.ndarray:
    """The stored costs at `catalog`'s prices, priced as Router.scores prices them, so price edits need no re-scoring."""
    if catalog is None or scored_with is None:
        return cost
    return router.pricing.repriced(cost, input_tokens, answer_tokens, Catalog.from_dict(scored_with), catalog)


def read_scored_log(source, router, catalog: Catalog | None = None, name: str | None = None,
                    batch_rows: int = 262_144) -> tuple[ScoredLog, dict]:
    """Open a `score-log` Parquet file, or a folder of its parts, as the ScoredLog the schedule simulator replays.

    The file is read in batches of the columns needed, and each distinct prompt's scores are kept once, so memory
    grows with the requests' timestamps and the distinct prompts, not with every stored column.
    Args:
        source: a path (file or folder), or a binary file-like object (then `name` names it in messages).
        catalog: re-price the stored predictions at these prices (e.g. the dashboard's edited catalog).
    Returns:
        (scored log, summary): summary holds source, requests, rejected, first_rejection and backend. Requests of a
        folder come in time order (its parts are in no order of their own).
    Raises:
        RouterInputError when the file is not a score-log file, lacks a column, or was scored by another router.
    """
    name = name or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "upload"))
    folder = _scored_folder(source)
    if folder is not None:
        metadata, summary, dataset = _open_folder(folder, name)
        names = dataset.schema.names
    else:
        if isinstance(source, (str, Path)):
            recover_outputs(source)  # a run killed while renaming: finish it before reading
        file = _parquet(source, name)
        metadata, names = _metadata(file), file.schema_arrow.names
        summary = json.loads((file.metadata.metadata or {}).get(SUMMARY_KEY, b"{}"))
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
    needed = ["timestamp", "prompt_key", "input_tokens"] + [c for names_ in columns.values() for c in names_]
    missing = [c for c in needed if c not in names]
    if missing:
        raise RouterInputError(f"{name}: column(s) {', '.join(missing)} missing; the file is damaged or not from score-log")
    optional = [c for c in ("logged_model", "logged_cost_usd", *GROUP_COLUMNS) if c in names]
    batches = (dataset.to_batches(columns=needed + optional, batch_size=batch_rows) if folder is not None
               else file.iter_batches(columns=needed + optional, batch_size=batch_rows))
    scored = _stream_scored(batches, router, columns, optional, metadata.get("catalog"), catalog, sort=folder is not None)
    return scored, {"source": metadata.get("source"), "backend": metadata.get("backend"),
                    "distinct_prompts": len(scored.quality), **summary}


def _stream_scored(batches, router, columns: dict[str, list[str]], optional: list[str], scored_with, catalog,
                   sort: bool) -> ScoredLog:
    """Requests' timestamps and prompt codes per batch; each prompt's stored scores once, from its first request."""
    index: dict[str, int] = {}
    times, codes, extra, first_rows = [], [], {c: [] for c in optional}, []
    for batch in batches:
        frame = batch.to_pandas()
        local, keys = pd.factorize(frame["prompt_key"], sort=False)
        known = np.array([index.get(k, -1) for k in keys], dtype=np.int64)
        new = np.flatnonzero(known < 0)
        known[new] = len(index) + np.arange(len(new))
        index.update(zip(keys[new], known[new].tolist()))
        if len(new):
            first = np.unique(local, return_index=True)[1][new]  # the first request of each new prompt
            first_rows.append(frame.iloc[first][["input_tokens"] + [c for n in columns.values() for c in n]])
        codes.append(known[local])
        times.append(frame["timestamp"])
        for c in optional:
            extra[c].append(frame[c])
    if not codes:
        raise RouterInputError("the scored log holds no request")
    per_prompt_frame = pd.concat(first_rows, ignore_index=True)
    per_prompt = {kind: per_prompt_frame[n].to_numpy(dtype=float) for kind, n in columns.items()}
    cost = _repriced(router, per_prompt["predicted_cost_usd"], per_prompt_frame["input_tokens"].to_numpy(dtype=float),
                     per_prompt["answer_tokens"], scored_with, catalog)
    timestamps = pd.concat(times, ignore_index=True)
    prompt_index = np.concatenate(codes)
    extras = {c: pd.concat(parts, ignore_index=True) for c, parts in extra.items()}
    if sort:
        order = np.argsort(timestamps.to_numpy(), kind="stable")
        timestamps, prompt_index = timestamps.iloc[order].reset_index(drop=True), prompt_index[order]
        extras = {c: v.iloc[order].reset_index(drop=True) for c, v in extras.items()}
    return ScoredLog(timestamps, prompt_index, list(router.candidates), per_prompt["predicted_quality"], cost,
                     per_prompt["weight"], extras.get("logged_model"), extras.get("logged_cost_usd"),
                     {g: extras[g] for g in GROUP_COLUMNS if g in extras} or None)
