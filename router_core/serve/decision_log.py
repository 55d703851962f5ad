"""The decision log: one row per request, in SQLite in WAL mode.

Why SQLite: it is in the standard library; a commit is atomic, so `kill -9` loses at most the records not yet
committed and never leaves a corrupt file; readers (the CLI, the dashboard) query it while the server writes; several
server processes on one host can write to one file (SQLite serialises them; WAL needs that host's shared memory, so
not a network file system); an index on time keeps "the last hour" fast over millions of rows. Writes happen on one
background thread, so a slow disk never blocks the event loop.
"""
from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from pathlib import Path

import pandas as pd

from ..errors import RouterInputError

LOG_FILE = "decisions.sqlite"
COLUMNS = {  # name -> SQLite type; `candidates` and `called` hold JSON
    "ts": "REAL NOT NULL", "request_id": "TEXT NOT NULL", "user": "TEXT", "team": "TEXT", "prompt_sha256": "TEXT",
    "prompt": "TEXT", "lam": "REAL", "lam_source": "TEXT", "policy": "TEXT", "top_k": "INTEGER", "candidates": "TEXT",
    "called": "TEXT", "model": "TEXT", "input_tokens": "INTEGER", "output_tokens": "INTEGER", "cost_usd": "REAL",
    "predicted_cost_usd": "REAL", "routing_ms": "REAL", "upstream_ms": "REAL", "status": "TEXT NOT NULL",
    "fallback_reason": "TEXT", "error": "TEXT",
}
OVERVIEW = ("ts", "status", "model", "lam", "lam_source", "top_k", "cost_usd", "predicted_cost_usd", "routing_ms", "user",
            "team", "fallback_reason")
BATCH_SECONDS = 0.05
# Per minute, answering model and λ source: the sums the monitoring charts are made of, kept up to date in the same
# transaction as the decisions, so a page over millions of decisions reads thousands of rows.
ROLLUP_TABLE = """CREATE TABLE IF NOT EXISTS rollup (minute INTEGER NOT NULL, model TEXT NOT NULL, source TEXT NOT NULL,
    requests INTEGER NOT NULL, failed INTEGER NOT NULL, fell_back INTEGER NOT NULL, spend_usd REAL NOT NULL,
    lam_sum REAL NOT NULL, lam_n INTEGER NOT NULL, priced INTEGER NOT NULL, priced_predicted REAL NOT NULL,
    priced_measured REAL NOT NULL, PRIMARY KEY (minute, model, source))"""
ROLLUP_SUMS = ("requests", "failed", "fell_back", "spend_usd", "lam_sum", "lam_n", "priced", "priced_predicted",
               "priced_measured")
_PRICED = "status = 'ok' AND top_k = 1 AND predicted_cost_usd IS NOT NULL"
ROLLUP_SELECT = f"""SELECT CAST(ts / 60 AS INTEGER), COALESCE(model, '(none)'), COALESCE(lam_source, '?'), COUNT(*),
    TOTAL(status = 'error'), TOTAL(fallback_reason IS NOT NULL), TOTAL(cost_usd), TOTAL(lam), COUNT(lam), TOTAL({_PRICED}),
    TOTAL(CASE WHEN {_PRICED} THEN predicted_cost_usd END), TOTAL(CASE WHEN {_PRICED} THEN cost_usd END)
    FROM decisions WHERE id > ? GROUP BY 1, 2, 3"""
ROLLUP_UPSERT = (f"INSERT INTO rollup (minute, model, source, {', '.join(ROLLUP_SUMS)}) {ROLLUP_SELECT} "
                 "ON CONFLICT (minute, model, source) DO UPDATE SET "
                 + ", ".join(f"{c} = {c} + excluded.{c}" for c in ROLLUP_SUMS))


def rebuild_rollup(path: str | Path) -> None:
    """Recompute the rollup table from every decision (for a log written by other means than DecisionLog)."""
    connection = sqlite3.connect(path, timeout=30)
    with connection:
        connection.execute(ROLLUP_TABLE)
        connection.execute("DELETE FROM rollup")
        connection.execute(ROLLUP_UPSERT, (0,))
    connection.close()  # how long the writer gathers records before one commit


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable across a process kill, never corrupt
    return connection


def log_path(folder: str | Path) -> Path:
    return Path(folder) / LOG_FILE


class DecisionLog:
    """Append-only writer. `append` never blocks on the disk; `close` commits what is queued."""

    def __init__(self, folder: str | Path):
        self.path = log_path(folder)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _connect(self.path) as connection:
            columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
            connection.execute(f"CREATE TABLE IF NOT EXISTS decisions (id INTEGER PRIMARY KEY, {columns})")
            connection.execute("CREATE INDEX IF NOT EXISTS decisions_ts ON decisions (ts)")
            # Every column the monitoring queries read but the JSON ones: they scan this, not the wide table.
            connection.execute(f"CREATE INDEX IF NOT EXISTS decisions_overview ON decisions ({', '.join(OVERVIEW)})")
            connection.execute(ROLLUP_TABLE)
        connection.close()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="crossroute-decision-log", daemon=True)
        self.failures = 0  # records that could not be written (counted in /metrics)
        self._thread.start()

    def append(self, record: dict) -> None:
        unknown = set(record) - set(COLUMNS)
        if unknown:
            raise ValueError(f"decision record has unknown field(s) {sorted(unknown)}")
        row = {k: (json.dumps(v) if k in ("candidates", "called") and v is not None else v) for k, v in record.items()}
        self._queue.put(row)

    def _write(self) -> None:
        connection = _connect(self.path)
        connection.isolation_level = None  # transactions by hand: BEGIN IMMEDIATE holds the write lock from the start
        names = list(COLUMNS)
        insert = f"INSERT INTO decisions ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        while True:
            first = self._queue.get()
            batch, stop = [], first is None
            if first is not None:
                batch.append(first)
            deadline = time.monotonic() + BATCH_SECONDS
            while not stop and time.monotonic() < deadline:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            if batch:
                try:
                    connection.execute("BEGIN IMMEDIATE")  # no other writer between reading the last id and inserting
                    try:
                        last = connection.execute("SELECT COALESCE(MAX(id), 0) FROM decisions").fetchone()[0]
                        connection.executemany(insert, [tuple(row.get(n) for n in names) for row in batch])
                        connection.execute(ROLLUP_UPSERT, (last,))
                        connection.execute("COMMIT")
                    except BaseException:
                        connection.execute("ROLLBACK")
                        raise
                except sqlite3.Error:
                    self.failures += len(batch)
            if stop:
                connection.close()
                return

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)


def read_decisions(folder: str | Path, since: float | None = None) -> pd.DataFrame:
    """The log's rows (all, or those at or after unix time `since`), oldest first; JSON columns parsed."""
    path = log_path(folder)
    if not path.is_file():
        raise RouterInputError(f"{path}: no decision log here (the server writes it under --log)")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            where, params = ("WHERE ts >= ?", (since,)) if since is not None else ("", ())
            frame = pd.read_sql_query(f"SELECT * FROM decisions {where} ORDER BY ts, id", connection, params=params)
        finally:
            connection.close()
    except (sqlite3.Error, pd.errors.DatabaseError) as e:
        raise RouterInputError(f"{path}: not a readable decision log ({e})") from e
    for column in ("candidates", "called"):
        frame[column] = [json.loads(v) if isinstance(v, str) else None for v in frame[column]]
    return frame
