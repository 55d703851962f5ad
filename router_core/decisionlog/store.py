"""The decision log's writer: one row per request, in SQLite in WAL mode.

Why SQLite: it is in the standard library; a commit is atomic, so `kill -9` loses at most the records not yet
committed and never leaves a corrupt file (the server answers a request once its record is committed, so those are
records of requests still in flight); readers (the CLI, the dashboard) query it while the server writes; several
server processes on one host can write to one file (SQLite serialises them; WAL needs that host's shared memory, so
not a network file system); an index on time keeps "the last hour" fast over millions of rows. Writes happen on one
background thread, so a slow disk never blocks the event loop, and that thread outlives any record it cannot write.
"""
from __future__ import annotations

import json
import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from router_core.decisionlog.schema import (
    CHARGED_USD_SQL,
    COLUMNS,
    FAILED_SQL,
    JSON_COLUMNS,
    PRICED_SQL,
    DecisionRecord,
    log_path,
)

log = logging.getLogger("crossroute.decisionlog")
OVERVIEW = ("ts", "status", "model", "lam", "lam_source", "top_k", "cost_usd", "predicted_cost_usd", "routing_ms", "user",
            "team", "fallback_reason")
MAX_BATCH = 1000  # records in one commit at most; a batch is whatever queued while the last commit ran
MAX_TEXT = 4000  # characters kept of a free-text field (a prompt is kept whole only when asked, and then capped higher)
MAX_PROMPT = 200_000
# Per minute, answering model and λ source: the sums the monitoring charts are made of, kept up to date in the same
# transaction as the decisions, so a page over millions of decisions reads thousands of rows.
ROLLUP_TABLE = """CREATE TABLE IF NOT EXISTS rollup (minute INTEGER NOT NULL, model TEXT NOT NULL, source TEXT NOT NULL,
    requests INTEGER NOT NULL, failed INTEGER NOT NULL, fell_back INTEGER NOT NULL, spend_usd REAL NOT NULL,
    lam_sum REAL NOT NULL, lam_n INTEGER NOT NULL, priced INTEGER NOT NULL, priced_predicted REAL NOT NULL,
    priced_measured REAL NOT NULL, degraded INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (minute, model, source))"""
ROLLUP_SUMS = ("requests", "failed", "fell_back", "spend_usd", "lam_sum", "lam_n", "priced", "priced_predicted",
               "priced_measured", "degraded")
ROLLUP_SELECT = f"""SELECT CAST(ts / 60 AS INTEGER), COALESCE(model, '(none)'), COALESCE(lam_source, '?'), COUNT(*),
    TOTAL({FAILED_SQL}), TOTAL(fallback_reason IS NOT NULL), TOTAL({CHARGED_USD_SQL}),
    TOTAL(lam), COUNT(lam), TOTAL({PRICED_SQL}),
    TOTAL(CASE WHEN {PRICED_SQL} THEN predicted_cost_usd END), TOTAL(CASE WHEN {PRICED_SQL} THEN cost_usd END),
    TOTAL(degraded IS NOT NULL)
    FROM decisions WHERE id > ? GROUP BY 1, 2, 3"""
ROLLUP_UPSERT = (f"INSERT INTO rollup (minute, model, source, {', '.join(ROLLUP_SUMS)}) {ROLLUP_SELECT} "
                 "ON CONFLICT (minute, model, source) DO UPDATE SET "
                 + ", ".join(f"{c} = {c} + excluded.{c}" for c in ROLLUP_SUMS))

DECISIONS_ENV = "CROSSROUTE_DECISIONS"


def default_log_dir() -> Path:
    """Where a server or hook logs when told nothing: $CROSSROUTE_DECISIONS, else $XDG_DATA_HOME/crossroute/decisions,
    else ~/.local/share/crossroute/decisions; never the current folder (a checkout would collect logs)."""
    import os

    if os.environ.get(DECISIONS_ENV):
        return Path(os.environ[DECISIONS_ENV]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "crossroute" / "decisions"


def rebuild_rollup(path: str | Path) -> None:
    """Recompute the rollup table from every decision (for a log written by other means than DecisionLog)."""
    connection = sqlite3.connect(path, timeout=30)
    with connection:
        connection.execute(ROLLUP_TABLE)
        connection.execute("DELETE FROM rollup")
        connection.execute(ROLLUP_UPSERT, (0,))
    connection.close()


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable across a process kill, never corrupt
    return connection


def create(path: Path) -> None:
    """The decisions table, its indexes and the rollup, if absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _connect(path) as connection:
        columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
        connection.execute(f"CREATE TABLE IF NOT EXISTS decisions (id INTEGER PRIMARY KEY, {columns})")
        present = {row[1] for row in connection.execute("PRAGMA table_info(decisions)")}
        for name, kind in COLUMNS.items():  # a log written by an older CrossRoute gains the newer columns, empty
            if name not in present:
                connection.execute(f"ALTER TABLE decisions ADD COLUMN {name} {kind.replace(' NOT NULL', '')}")
        connection.execute("CREATE INDEX IF NOT EXISTS decisions_ts ON decisions (ts)")
        # Every column the monitoring queries read but the JSON ones: they scan this, not the wide table.
        connection.execute(f"CREATE INDEX IF NOT EXISTS decisions_overview ON decisions ({', '.join(OVERVIEW)})")
        connection.execute(ROLLUP_TABLE)
        rollup = {row[1] for row in connection.execute("PRAGMA table_info(rollup)")}
        if "degraded" not in rollup:  # a rollup from an older CrossRoute: its rows had no degraded decisions
            connection.execute("ALTER TABLE rollup ADD COLUMN degraded INTEGER NOT NULL DEFAULT 0")
    connection.close()


def _text(value, limit: int) -> str:
    """Text SQLite can store: lone surrogates escaped, cut to `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8") if _has_surrogate(text) else text
    return text if len(text) <= limit else text[:limit] + "…"


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _number(value, kind: str):
    """A number SQLite can store, or None (a NaN, an infinity or a value of the wrong type is not a measurement)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number):
        return None
    if kind == "INTEGER":
        return int(number) if abs(number) < 2**62 else None
    return number


def storable(row: dict) -> tuple:
    """A record as the values of one INSERT, every field coerced to what its column holds (escaped, never dropped)."""
    values = []
    for name, kind in COLUMNS.items():
        value = row.get(name)
        if value is None:
            values.append(None)
        elif name in JSON_COLUMNS:
            values.append(_text(json.dumps(value, ensure_ascii=False, default=str), 10**7))
        elif kind.startswith("REAL") or kind.startswith("INTEGER"):
            values.append(_number(value, kind.split()[0]))
        else:
            values.append(_text(value, MAX_PROMPT if name == "prompt" else MAX_TEXT))
    if values[0] is None:  # ts is NOT NULL: a record always has a time
        values[0] = time.time()
    return tuple(values)


class DecisionLog:
    """Append-only writer. `append` never blocks on the disk; `close` commits what is queued. A record that cannot be
    written as given is written with the offending fields escaped; only a database error loses records, and those
    are counted in `failures` (the server's /metrics)."""

    def __init__(self, folder: str | Path):
        self.path = log_path(folder)
        create(self.path)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="crossroute-decision-log", daemon=True)
        self.failures = 0  # records that could not be written
        self.errors = 0  # batches that raised (written again row by row, or counted in failures)
        self._thread.start()

    def append(self, record: DecisionRecord | dict, written: Callable[[], None] | None = None) -> None:
        """Queue a record; `written` is called on the writer thread once its batch is committed (or counted lost)."""
        row = record.to_row() if isinstance(record, DecisionRecord) else dict(record)
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise ValueError(f"decision record has unknown field(s) {sorted(unknown)}")
        self._queue.put((row, written))

    def _run(self) -> None:
        connection = None
        while True:
            try:
                if connection is None:
                    connection = _connect(self.path)
                    connection.isolation_level = None  # transactions by hand: BEGIN IMMEDIATE holds the write lock
                if self._write_next(connection):
                    connection.close()
                    return
            except Exception:  # noqa: BLE001 - the writer must outlive anything one batch does
                log.exception("decision log %s: a batch could not be written", self.path)
                self.errors += 1
                try:
                    if connection is not None:
                        connection.close()
                except sqlite3.Error:
                    pass
                connection = None
                time.sleep(0.1)

    def _write_next(self, connection) -> bool:
        """Commit what is queued (waiting for the first record); True when the log was closed."""
        batch, stop = [], False
        item = self._queue.get()
        while True:
            if item is None:
                stop = True
            else:
                batch.append(item)
            if stop or len(batch) >= MAX_BATCH:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        rows = []
        for row, _ in batch:
            try:
                rows.append(storable(row))
            except Exception:  # noqa: BLE001 - one bad record must not lose the others
                log.exception("decision log: a record could not be prepared")
                self.failures += 1
        try:
            if rows:
                self._commit(connection, rows)
        except sqlite3.Error:
            log.exception("decision log %s: %d record(s) lost", self.path, len(rows))
            self.failures += len(rows)
        finally:
            for _, written in batch:
                if written is not None:
                    try:
                        written()
                    except Exception:  # noqa: BLE001 - a waiter's failure is not the log's
                        log.exception("decision log: a waiter's callback failed")
        return stop

    @staticmethod
    def _commit(connection, rows: list[tuple]) -> None:
        names = list(COLUMNS)
        insert = f"INSERT INTO decisions ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        connection.execute("BEGIN IMMEDIATE")  # no other writer between reading the last id and inserting
        try:
            last = connection.execute("SELECT COALESCE(MAX(id), 0) FROM decisions").fetchone()[0]
            connection.executemany(insert, rows)
            connection.execute(ROLLUP_UPSERT, (last,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)


def compact(path: str | Path) -> None:
    """Fold the write-ahead log into the file and shrink it: for a log that is shipped or archived, not served."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection = sqlite3.connect(path)
    connection.execute("VACUUM")
    connection.close()
