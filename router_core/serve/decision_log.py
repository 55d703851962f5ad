"""The decision log: one row per request, in SQLite in WAL mode.

Why SQLite: it is in the standard library; a commit is atomic, so `kill -9` loses at most the records not yet
committed and never leaves a corrupt file; readers (the CLI, the dashboard) query it while the server writes; several
server processes can write to one file (SQLite serialises them); an index on time keeps "the last hour" fast over
millions of rows. Writes happen on one background thread, so a slow disk never blocks the event loop.
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
BATCH_SECONDS = 0.05  # how long the writer gathers records before one commit


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
                    with connection:
                        connection.executemany(insert, [tuple(row.get(n) for n in names) for row in batch])
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
