"""`score-log --engine ray`: a request log of many files scored on a Ray cluster into a folder of Parquet parts.

Stages, in Ray Data: every file is parsed by the local engine's rules in a task (its unusable rows written beside the
output with their reason); rows are hash-partitioned by prompt key, so each distinct prompt lands in exactly one block;
an actor pool, each actor holding the router's ONNX Runtime session, scores a block's distinct prompts once, joins the
scores back and writes the block as one part with the local engine's schema and metadata. The manifest, written last,
counts every row; the finished folder then replaces the old one in one rename, so a reader never sees half a run.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from router_core.data.catalog import Catalog
from router_core.data.request_log import (
    format_reason_counts,
    iter_request_log,
    log_mapping,
    reason_kinds,
)
from router_core.data.tables import TABLE_SUFFIXES
from router_core.errors import RouterInputError
from router_core.files import recover, staging_folder, swap_into_place
from router_core.model.text import text_key
from router_core.traffic.log_scoring import (
    FORMAT,
    GROUP_COLUMNS,
    MANIFEST,
    MAX_REASON_KINDS,
    VERSION,
    _chunk_table,
    _schema,
)

INSTALL_HINT = "pip install -r requirements-ray.txt (or pip install \"crossroute[ray]\")"
REJECTED_FOLDER = "_rejected"  # underscore: Arrow and DuckDB readers of the folder skip it
RECEIPTS_FOLDER = "_receipts"  # per input file: rows read and rejected, removed once the manifest is written
OPTIONAL_FIELDS = ("model", "cost_usd", *GROUP_COLUMNS)  # canonical log fields the scored schema keeps when present
REJECTED_SCHEMA = pa.schema([("source", pa.string()), ("row", pa.int64()), ("reason", pa.string()), ("cells", pa.string())])


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (Ray without its data extra cannot run this engine)
    except ImportError as e:
        raise RouterInputError(f"--engine ray needs Ray Data, which is not installed: {INSTALL_HINT}") from e
    return ray


@dataclass(frozen=True)
class RayScoringResult:
    path: Path
    files: int
    rows_in: int
    requests: int
    rejected: int
    distinct_prompts: int  # prompts scored: each distinct prompt once
    rejection_summary: str | None
    parts: int
    workers: int
    seconds: float
    scoring_seconds: float  # summed over the scoring actors: encoding, scoring and writing parts (the rest is Ray's)


def log_files(spec) -> list[Path]:
    """The request-log files a --log argument names: one file, a folder (searched recursively) or a glob pattern."""
    text = str(spec)
    path = Path(text)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES
                 and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)]
    elif path.is_file():
        files = [path]
    elif any(c in text for c in "*?["):
        files = [Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file()]
    else:
        raise RouterInputError(f"{text}: no such file or folder, and no glob pattern")
    if not files:
        raise RouterInputError(f"{text}: no request-log file ({', '.join(TABLE_SUFFIXES)}) found")
    return sorted(files)


def _row_schema(fields: set[str]) -> pa.Schema:
    """What the parse stage hands to the shuffle: canonical columns, the same set for every file."""
    columns = [("timestamp", pa.timestamp("ns", tz="UTC")), ("prompt", pa.string()), ("prompt_key", pa.string())]
    columns += [(f, pa.float64() if f == "cost_usd" else pa.string()) for f in OPTIONAL_FIELDS if f in fields]
    return pa.schema(columns)


def _write_atomically(table: pa.Table, path: Path) -> None:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, temp, compression="zstd")
    os.replace(temp, path)  # a retried task writes the same name: the part is replaced, never duplicated


def _rejected_table(rejected: pd.DataFrame, source: str) -> pa.Table:
    cells = [json.dumps({k: v for k, v in row.items() if not (v is None or (isinstance(v, float) and v != v))},
                        default=str, ensure_ascii=False)
             for row in rejected.drop(columns=["row", "reason"]).rename(columns=str).to_dict("records")]
    return pa.Table.from_pydict({"source": [source] * len(rejected), "row": rejected["row"].astype("int64").tolist(),
                                 "reason": rejected["reason"].astype(str).tolist(), "cells": cells}, schema=REJECTED_SCHEMA)


def _parse_files(batch: dict, mapping, chunk_rows: int, staging: str, fields: set[str]):
    """Ray Data task: parse whole files with the local engine's rules; yields usable rows, writes rejected ones."""
    staging, schema = Path(staging), _row_schema(fields)
    for index, path in zip(batch["file_index"], batch["path"]):
        rows_in, rejected, kinds, first = 0, 0, Counter(), None
        for c, chunk in enumerate(iter_request_log(path, mapping, chunk_rows)):
            rows_in += len(chunk.frame) + len(chunk.rejected)
            if len(chunk.rejected):
                _write_atomically(_rejected_table(chunk.rejected, path),
                                  staging / REJECTED_FOLDER / f"part-{index:05d}-{c:06d}.parquet")
                rejected += len(chunk.rejected)
                kinds.update(reason_kinds(chunk.rejected["reason"]))
                first = first or f"{path} row {chunk.rejected['row'].iloc[0]}: {chunk.rejected['reason'].iloc[0]}"
            if len(chunk.frame):
                frame = chunk.frame.assign(prompt_key=[text_key(p) for p in chunk.frame["prompt"]])
                yield pa.Table.from_pandas(frame.reindex(columns=schema.names), schema=schema, preserve_index=False)
        receipt = {"file": str(path), "rows_in": rows_in, "rejected": rejected, "rejection_kinds": dict(kinds),
                   "first_rejection": first}
        temp = staging / RECEIPTS_FOLDER / f".{index:05d}.{uuid.uuid4().hex}.tmp"
        temp.write_text(json.dumps(receipt), encoding="utf-8")
        os.replace(temp, staging / RECEIPTS_FOLDER / f"{index:05d}.json")


class _ScoreBlocks:
    """Ray Data actor: loads the router once (an ONNX Runtime session), then scores whole hash-partitioned blocks."""

    def __init__(self, router_folder: str, backend: str, threads: int, catalog: dict | None, schema: pa.Schema,
                 staging: str):
        from router_core.router import Router

        self.router = Router.load(router_folder, backend=backend, threads=threads)
        self.catalog = Catalog.from_dict(catalog) if catalog is not None else None
        self.schema, self.staging = schema, Path(staging)

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        if block.empty:
            return pd.DataFrame({"part": pd.Series([], dtype=object), "rows": pd.Series([], dtype="int64"),
                                 "prompts": pd.Series([], dtype="int64"), "seconds": pd.Series([], dtype=float)})
        started = time.perf_counter()
        frame = block.reset_index(drop=True)
        table = _chunk_table(frame, self.router, self.catalog, self.schema)
        # named by content: a block scored again after a failure overwrites its own part
        digest = hashlib.sha256()
        digest.update(pd.util.hash_pandas_object(frame[["prompt_key", "timestamp"]], index=False).to_numpy().tobytes())
        name = f"part-{digest.hexdigest()[:24]}.parquet"
        temp = self.staging / f".{name}.{uuid.uuid4().hex}.tmp"
        with pq.ParquetWriter(temp, self.schema, compression="zstd") as writer:
            writer.write_table(table)
        os.replace(temp, self.staging / name)
        return pd.DataFrame({"part": [name], "rows": [len(frame)], "prompts": [frame["prompt_key"].nunique()],
                             "seconds": [time.perf_counter() - started]})


def _quiet(ray) -> None:
    """Warnings and errors only: Ray Data otherwise logs its plan and progress every few seconds at INFO."""
    import logging

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = context.enable_operator_progress_bars = False
    context.print_on_execution_start = context.verbose_stats_logs = context.enable_auto_log_stats = False
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _connect(ray, address: str | None, num_cpus: int | None) -> None:
    import logging

    _quiet(ray)
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    env = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if address:
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, runtime_env={"env_vars": env}, log_to_driver=False,
                 logging_level=logging.WARNING)
    _quiet(ray)  # init configures Ray's loggers again


def score_log_ray(spec, router_folder, out, mapping: dict[str, str] | None = None, catalog: Catalog | None = None,
                  backend: str = "auto", address: str | None = None, workers: int | None = None,
                  partitions: int | None = None, chunk_rows: int = 20_000) -> RayScoringResult:
    """Score every request of the files `spec` names on Ray, into the folder `out` of Parquet parts.

    Args:
        spec: a file, a folder of files (recursively) or a glob; CSV, JSONL, JSON or Parquet, mixed as needed.
        router_folder: the router artifact; every Ray node must see this path (a shared file system).
        address: a running cluster ("auto", "ray://HOST:PORT"); None connects to an already initialised Ray, or to
            $RAY_ADDRESS, or starts one on this machine.
        workers: scoring actors (default: one per CPU of the cluster), each with one ONNX Runtime thread.
        partitions: hash partitions of the prompt keys (default 4 per worker); more partitions, smaller blocks.
    Raises:
        RouterInputError naming the file, row or column (as the local engine), or when Ray is not installed.
    """
    from router_core.router import Router

    started = time.perf_counter()
    ray = import_ray()
    out = Path(out)
    if out.suffix.lower() == ".parquet" and out.is_file():
        raise RouterInputError(f"{out}: the Ray engine writes a folder of Parquet parts; name a folder for --out")
    if out.exists() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise RouterInputError(f"{out}: exists and is not a scored-log folder; choose a new or empty folder")
    files = log_files(spec)
    router = Router.load(router_folder, backend=backend)
    mappings = {str(f): log_mapping(f, mapping, chunk_rows) for f in files}  # a missing column fails here, by file
    fields = {f for m in mappings.values() if m for f in m if f in OPTIONAL_FIELDS}
    first_mapping = next((m for m in mappings.values() if m), None)
    if first_mapping is None:
        raise RouterInputError(f"{spec}: every file is empty; no request to score")
    prices = catalog or router.catalog
    metadata = {"format": FORMAT, "version": VERSION, "router_id": router.id, "backend": router.backend,
                "candidates": list(router.candidates), "cost_mode": router.pricing.cost_mode,
                "catalog": prices.to_dict() if prices is not None else None, "source": Path(str(spec)).name,
                "mapping": first_mapping, "engine": "ray", "files": len(files)}
    schema = _schema(router, "model" in fields, "cost_usd" in fields, metadata, tuple(g for g in GROUP_COLUMNS if g in fields))

    _connect(ray, address, workers)
    cluster_cpus = max(int(ray.cluster_resources().get("CPU", 1)), 1)
    workers = workers or cluster_cpus
    partitions = partitions or 4 * workers
    recover(out)
    staging = staging_folder(out)
    try:
        (staging / REJECTED_FOLDER).mkdir()
        (staging / RECEIPTS_FOLDER).mkdir()
        inputs = ray.data.from_items([{"file_index": i, "path": str(f)} for i, f in enumerate(files)],
                                     override_num_blocks=len(files))
        rows = inputs.map_batches(_parse_files, batch_size=1, batch_format="numpy",
                                  fn_kwargs={"mapping": mapping, "chunk_rows": chunk_rows, "staging": str(staging),
                                             "fields": fields})
        # The shuffle is a barrier anyway; materialising it first means the scoring actors, which hold a CPU each,
        # never starve the parse and shuffle tasks, and the pool starts at full size instead of growing from one.
        blocks = rows.repartition(partitions, keys=["prompt_key"]).materialize()
        receipts = blocks.map_batches(_ScoreBlocks, batch_size=None, batch_format="pandas", num_cpus=1,
                                      fn_constructor_args=(str(router_folder), backend, 1,
                                                           catalog.to_dict() if catalog is not None else None, schema,
                                                           str(staging)),
                                      compute=ray.data.ActorPoolStrategy(min_size=min(workers, cluster_cpus),
                                                                                 max_size=workers)).to_pandas()
        result = _finish(staging, files, receipts, metadata)
        swap_into_place(staging, out)
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        cause = getattr(e, "cause", None)
        if isinstance(cause, RouterInputError):
            raise RouterInputError(str(cause)) from e  # a bad file, found on a worker: the same message as locally
        raise
    return RayScoringResult(out, len(files), result["rows_in"], result["requests"], result["rejected"],
                            result["distinct_prompts"], result["rejection_summary"], result["parts"], workers,
                            time.perf_counter() - started, float(receipts["seconds"].sum()))


def _finish(staging: Path, files: list[Path], receipts: pd.DataFrame, metadata: dict) -> dict:
    """Check every row is accounted for, drop stray files of failed attempts, and write the manifest."""
    read = {}
    for i, f in enumerate(files):
        path = staging / RECEIPTS_FOLDER / f"{i:05d}.json"
        if not path.is_file():
            raise RouterInputError(f"{f}: the Ray job finished without a record of this file; nothing was written")
        read[str(f)] = json.loads(path.read_text(encoding="utf-8"))
    rows_in = sum(r["rows_in"] for r in read.values())
    rejected = sum(r["rejected"] for r in read.values())
    parts = sorted(set(receipts["part"]))
    requests = sum(pq.ParquetFile(staging / p).metadata.num_rows for p in parts)
    if requests + rejected != rows_in:
        raise RouterInputError(f"the Ray job scored {requests:,} and rejected {rejected:,} of {rows_in:,} rows read; "
                               "rows went missing or were doubled, so nothing was written")
    if requests == 0:
        first = next((r["first_rejection"] for r in read.values() if r["first_rejection"]), None)
        raise RouterInputError(f"no usable request; every row was rejected (first reason: {first or 'no rows'})")
    keep = set(parts)
    for entry in staging.iterdir():
        if entry.is_file() and entry.name not in keep:
            entry.unlink()  # a temporary part of an attempt that died
    for entry in (staging / REJECTED_FOLDER).iterdir():
        if entry.name.startswith("."):
            entry.unlink()
    shutil.rmtree(staging / RECEIPTS_FOLDER)
    kinds = Counter()
    for r in read.values():
        kinds.update(r["rejection_kinds"])
    first_rejection = next((r["first_rejection"] for r in read.values() if r["first_rejection"]), None)
    manifest = {**metadata, "parts": parts, "rows_in": rows_in, "requests": requests, "rejected": rejected,
                "first_rejection": first_rejection, "rejection_kinds": dict(kinds.most_common(MAX_REASON_KINDS)),
                "rejected_folder": REJECTED_FOLDER, "distinct_prompts": int(receipts["prompts"].sum()),
                "per_file": [{"file": f, "rows_in": r["rows_in"], "rejected": r["rejected"]} for f, r in read.items()]}
    temp = staging / f".{MANIFEST}.tmp"
    temp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(temp, staging / MANIFEST)
    return {"rows_in": rows_in, "requests": requests, "rejected": rejected, "parts": len(parts),
            "distinct_prompts": manifest["distinct_prompts"], "rejection_summary": format_reason_counts(kinds) or None}
