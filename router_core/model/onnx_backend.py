"""Scoring with ONNX Runtime: the exported encoder (fp32 or int8) and router head, picked and checked at load.

The graphs come from `onnx_export.py`; router.json's "onnx" section lists their files and sha256 digests.
"""
from __future__ import annotations

import hashlib
import os
import queue
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from router_core.errors import CrossRouteWarning, RouterInputError
from router_core.files import plain_name, read_confined
from router_core.model.scores import RawScore
from router_core.model.text import capped

BACKENDS = ("auto", "torch", "onnx", "onnx-fp32", "onnx-int8")
# Queries per graph run. On CPU small length-sorted batches beat big ones: no padding, and activations stay in cache.
# Measured on 2 cores, int8, queries/s at batch 1/4/16/64: 118/110/102/79 (chat prompts), 117/117/88/75 (real).
GRAPH_BATCH = 4
# Bulk scoring runs one single-threaded session per core, each on its own batches: on 2 cores, int8, real queries,
# 206-213 q/s against 117-131 q/s for one session with 2 threads (the small per-query matrices split badly).
PARALLEL_MIN_BATCHES = 8
PROGRESS_EVERY = 64  # queries between progress callbacks, so a dashboard bar is not redrawn thousands of times
HEAD_OUTPUTS = ["weights", "quality", "cost", "attention", "mean_state"]


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose_variant(meta: dict, folder: Path, backend: str) -> str | None:
    """The encoder variant to score with ("int8" or "fp32"), or None for torch.

    "auto" prefers an accepted int8 encoder, then fp32, then torch; it passes over files router.json lists but the
    folder lacks (a copy made without the 90 MB fp32 encoder, say). "onnx", "onnx-fp32" and "onnx-int8" insist.
    """
    if backend not in BACKENDS:
        raise RouterInputError(f"backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend == "torch":
        return None
    export = meta.get("onnx") or {}
    try:
        encoders = export.get("encoder", {})
        present = [v for v in ("int8", "fp32") if v in encoders and (folder / plain_name(encoders[v]["file"], str(folder))).exists()
                   and (v == "fp32" or export.get("int8"))]
    except (AttributeError, KeyError, TypeError) as e:
        raise RouterInputError(f"{folder}: router.json's onnx section is damaged ({type(e).__name__}: {e})") from e
    if backend == "auto":
        listed = [v for v in ("int8", "fp32") if v in encoders and (v == "fp32" or export.get("int8"))]
        if listed and not present:
            warnings.warn(f"{folder}: router.json lists an ONNX encoder ({encoders[listed[0]]['file']}) the folder lacks; "
                          "scoring with torch, which is slower (re-run export-onnx to restore it)", CrossRouteWarning,
                          stacklevel=3)
        return present[0] if present and onnxruntime_available() else None
    if not export:
        raise RouterInputError(f"{folder}: has no ONNX export; create one with `python -m router_core export-onnx --router {folder}`")
    if not onnxruntime_available():
        raise RouterInputError(f"backend {backend!r} needs onnxruntime, which is not installed (pip install -r requirements.txt)")
    wanted = backend.removeprefix("onnx-") if backend != "onnx" else (present[0] if present else "int8")
    if wanted not in present:
        recorded = encoders.get(wanted, {}).get("file")
        why = (f"{recorded} is recorded in router.json but not in the folder" if recorded
               else f"router.json records no accepted {wanted} encoder")
        raise RouterInputError(f"{folder}: backend {backend!r}: {why}; re-create it with "
                               f"`python -m router_core export-onnx --router {folder}{' --int8 --data FILE' if wanted == 'int8' else ''}`")
    return wanted


def _checked_bytes(folder: Path, entry: dict) -> bytes:
    path = folder / plain_name(entry["file"], f"{folder}: router.json's onnx section")
    data = read_confined(folder, entry["file"], entry["bytes"])
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise RouterInputError(f"{path}: digest does not match router.json (the file is damaged or from another export)")
    return data


class OnnxScorer:
    """Tokeniser (the torch path's own, so token ids match) → encoder graph → router-head graph, in length-sorted batches."""

    def __init__(self, tokenizer, encoder_model: bytes, head_model: bytes, max_tokens: int, name: str, threads: int | None = None,
                 tokenizer_from=None):
        """Args:
            tokenizer: the tokeniser; or None, and `tokenizer_from` (a callable returning it) is called on first use.
            threads: cores to use (default all). A call with few queries runs one session on all of them; a bulk
                call runs that many single-threaded sessions side by side, created on first need.
        The graphs' digests are checked before this is built; the sessions and the tokeniser are made on the first
        query, so a page that only reads stored scores never pays for them.
        """
        self._graphs = (encoder_model, head_model)
        self.threads = max(1, threads or len(os.sched_getaffinity(0)))
        self._main: tuple | None = None
        self._bulk_sessions: queue.SimpleQueue | None = None
        self._bulk_lock = threading.Lock()
        self._tokenizer, self._tokenizer_from = tokenizer, tokenizer_from
        self._load_lock = threading.Lock()
        # A fast tokeniser re-applies its padding and truncation settings on each call, and two threads doing that at
        # once fail ("Already borrowed"); the dashboard scores in a background thread while a page routes.
        self._tokenizer_lock = threading.Lock()
        self.max_tokens = max_tokens
        self.name = name
        self.sources = ("the encoder graph", "the router head graph")  # named in errors; load_onnx_scorer gives the files

    @property
    def encoder_graph(self) -> bytes:
        """The encoder graph this scorer runs (a router extended with a new head reuses it)."""
        return self._graphs[0]

    @property
    def tokenizer(self):
        with self._load_lock:
            if self._tokenizer is None:
                self._tokenizer = self._tokenizer_from()
        return self._tokenizer

    def _main_sessions(self) -> tuple:
        with self._load_lock:
            if self._main is None:
                self._main = self._session_pair(self.threads)
        return self._main

    def _session_pair(self, threads: int):
        import onnxruntime as ort  # only routers that score with ONNX pay for importing it

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # one graph runs at a time per session; a second pool would only compete
        # Idle workers sleep instead of spinning. On a busy 2-core machine (a dashboard, a proxy, training beside it)
        # spinning threads fight the others for the cores: one MiniLM query took 7.0 ms int8 / 15 ms fp32 with
        # spinning and 3.3 / 7.4 ms without, at 2 threads.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sessions = []
        for graph, name in zip(self._graphs, self.sources):
            try:
                sessions.append(ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"]))
            except Exception as e:  # noqa: BLE001 - ONNX Runtime's own error types: a graph it cannot load is a damaged artifact
                raise RouterInputError(f"{name}: ONNX Runtime cannot load this graph ({type(e).__name__}: "
                                       f"{str(e).splitlines()[0][:200]}); re-create the export with "
                                       "`python -m router_core export-onnx --router DIR`") from e
        return tuple(sessions)

    def _bulk(self) -> queue.SimpleQueue:
        with self._bulk_lock:
            if self._bulk_sessions is None:
                sessions = queue.SimpleQueue()
                for _ in range(self.threads):
                    sessions.put(self._session_pair(1))
                self._bulk_sessions = sessions
        return self._bulk_sessions

    def _score_batch(self, sessions, texts: list[str], rows: list[int], scores: list) -> None:
        encoder, head = sessions
        tokenizer = self.tokenizer
        with self._tokenizer_lock:
            batch = tokenizer(capped([texts[i] for i in rows], self.max_tokens), padding=True, truncation=True, max_length=self.max_tokens,
                                   return_tensors="np")
        feed = {i.name: batch[i.name].astype(np.int64) for i in encoder.get_inputs()}
        (states,) = encoder.run(["states"], feed)  # (B, L, d)
        weights, quality, cost, attention, mean_state = head.run(HEAD_OUTPUTS, {"states": states, "attention_mask": feed["attention_mask"]})
        lengths = feed["attention_mask"].sum(axis=1)
        for b, i in enumerate(rows):  # copies, so a cached entry does not pin its whole batch
            scores[i] = RawScore(weights[b].copy(), quality[b].copy(), cost[b].copy(), attention[b, : lengths[b]].copy(),
                                 mean_state[b].copy())

    def score(self, texts: list[str], batch_size: int = GRAPH_BATCH, progress=None) -> list[RawScore]:
        """Args:
            batch_size: at most this many queries per graph run (GRAPH_BATCH caps it: larger is slower here).
            progress: callable(done, total) while encoding, always called from the calling thread.
        """
        batch_size = max(1, min(batch_size, GRAPH_BATCH))
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: little padding
        batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
        scores: list[RawScore | None] = [None] * len(texts)
        done = reported = 0

        def report(n: int) -> None:
            nonlocal done, reported
            done += n
            if progress is not None and (done - reported >= PROGRESS_EVERY or done == len(order)):
                reported = done
                progress(done, len(order))

        if self.threads == 1 or len(batches) < PARALLEL_MIN_BATCHES:
            for rows in batches:
                self._score_batch(self._main_sessions(), texts, rows, scores)
                report(len(rows))
            return scores
        sessions = self._bulk()

        def run(rows):
            pair = sessions.get()
            try:
                self._score_batch(pair, texts, rows, scores)
            finally:
                sessions.put(pair)
            return len(rows)

        with ThreadPoolExecutor(self.threads, thread_name_prefix="crossroute-onnx") as pool:
            # Submitted a window at a time, so a million-row log does not queue a million futures.
            pending, next_batch = set(), 0
            while pending or next_batch < len(batches):
                while next_batch < len(batches) and len(pending) < 4 * self.threads:
                    pending.add(pool.submit(run, batches[next_batch]))
                    next_batch += 1
                finished = next(as_completed(pending))
                pending.discard(finished)
                report(finished.result())
        return scores


def load_onnx_scorer(folder: Path, meta: dict, variant: str, tokenizer_from, max_tokens: int, threads: int | None = None) -> OnnxScorer:
    """Read the variant's graphs and check their digests against router.json; sessions open on the first query.

    Args:
        tokenizer_from: callable returning the tokeniser, called on the first query.
    """
    export = meta["onnx"]
    if export.get("source_weights_sha256") != meta.get("weights_sha256"):
        raise RouterInputError(f"{folder}: the ONNX export was made from other weights than router.safetensors; "
                               f"re-run `python -m router_core export-onnx --router {folder}`")
    try:
        encoder_entry, head_entry = export["encoder"][variant], export["head"]
        encoder_model, head_model = _checked_bytes(folder, encoder_entry), _checked_bytes(folder, head_entry)
    except (KeyError, TypeError) as e:
        raise RouterInputError(f"{folder}: router.json's onnx section is incomplete ({type(e).__name__}: {e})") from e
    except FileNotFoundError as e:
        raise RouterInputError(f"{folder}: {Path(e.filename).name} is listed in router.json but missing") from e
    name = f"onnx-{variant}:{encoder_entry['sha256'][:12]}{head_entry['sha256'][:6]}"  # both graphs shape a score
    scorer = OnnxScorer(None, encoder_model, head_model, max_tokens, name, threads,
                        tokenizer_from=tokenizer_from)
    scorer.sources = (str(folder / encoder_entry["file"]), str(folder / head_entry["file"]))
    return scorer
