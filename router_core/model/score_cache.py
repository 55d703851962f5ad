"""Scores on disk: an SQLite file of float32 arrays keyed by (scorer id, text key), so nothing is encoded twice across runs.

Arrays are stored as raw little-endian float32 bytes and read back with numpy; nothing is pickled. The cache only
saves time: when the file cannot be used (locked too long, corrupt, unwritable) scoring goes on without it, after
one warning, and gives the same scores.
"""
from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from router_core.model.scores import RawScore

CACHE_FILE = "scores.sqlite"
SCHEMA_VERSION = 1  # PRAGMA user_version; a file of another version is rebuilt (it only holds derived numbers)
CACHE_DIR_ENV = "CROSSROUTE_CACHE_DIR"
FLOAT = np.dtype("<f4")
KEYS_PER_QUERY = 500  # well under SQLite's limit on bound parameters
BUSY_TIMEOUT_SECONDS = 10.0  # how long one statement waits for another process's write lock before the cache is set aside
SETUP_ATTEMPTS = 5  # opening a fresh file races other processes creating it: retry, spaced with jitter


class ScoreCacheWarning(UserWarning):
    """The score cache was set aside; scoring goes on without it."""


def default_cache_dir() -> Path:
    """$CROSSROUTE_CACHE_DIR, else $XDG_CACHE_HOME/crossroute, else ~/.cache/crossroute: outside any repository."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "crossroute"


class ScoreCache:
    """A bounded on-disk store of RawScores. Thread-safe; several processes may share one file (SQLite's WAL mode).

    When it holds more than `max_entries`, the oldest-written tenth goes. On any SQLite or file error it warns once
    (ScoreCacheWarning) and turns itself off: lookups then find nothing and writes are skipped.
    """

    def __init__(self, path: str | Path, max_entries: int = 200_000, timeout: float = BUSY_TIMEOUT_SECONDS):
        self.path = Path(path)
        self.max_entries = max_entries
        self.timeout = timeout
        self.disabled_reason: str | None = None
        self._db: sqlite3.Connection | None = None
        self._entries = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self._disable(f"cannot create its folder ({e.strerror or e})")
            return
        for attempt in range(SETUP_ATTEMPTS):
            started = time.monotonic()
            try:
                self._open()
                return
            except sqlite3.Error as e:
                self._close_quietly()
                waited_in_full = time.monotonic() - started >= 0.9 * self.timeout  # a long write, not a race at creation
                if not _is_locked(e) or waited_in_full or attempt == SETUP_ATTEMPTS - 1:
                    self._disable(_reason(e))
                    return
                time.sleep(random.uniform(0.05, 0.25) * (attempt + 1))

    def _open(self) -> None:
        # One connection shared by the dashboard's threads, serialised by our lock.
        self._db = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a crash may lose the last scores, never corrupt the file
        self._db.execute("BEGIN IMMEDIATE")  # one process at a time checks the layout and rebuilds it
        try:
            if self._db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._db.execute("DROP TABLE IF EXISTS scores")
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("""CREATE TABLE IF NOT EXISTS scores (
                scorer TEXT NOT NULL, key TEXT NOT NULL, n_tokens INTEGER NOT NULL,
                weights BLOB NOT NULL, quality BLOB NOT NULL, cost BLOB NOT NULL, attention BLOB NOT NULL, mean_state BLOB NOT NULL,
                UNIQUE (scorer, key))""")
            self._entries = self._db.execute("SELECT count(*) FROM scores").fetchone()[0]
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    @property
    def enabled(self) -> bool:
        return self.disabled_reason is None

    def _disable(self, reason: str) -> None:
        """Stop using the file for the rest of this process, saying why once."""
        if self.disabled_reason is None:
            self.disabled_reason = reason
            warnings.warn(f"{self.path}: {reason}; scoring without the score cache (same scores, just not kept)",
                          ScoreCacheWarning, stacklevel=3)
        self._close_quietly()

    def _close_quietly(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    def get_many(self, scorer_id: str, keys: list[str]) -> dict[str, RawScore]:
        """The stored scores among `keys`; entries whose arrays do not fit together are skipped (scored again)."""
        found = {}
        with self._lock:
            if self._db is None:
                return found
            try:
                for start in range(0, len(keys), KEYS_PER_QUERY):
                    part = keys[start:start + KEYS_PER_QUERY]
                    rows = self._db.execute(
                        f"SELECT key, n_tokens, weights, quality, cost, attention, mean_state FROM scores "
                        f"WHERE scorer = ? AND key IN ({','.join('?' * len(part))})", [scorer_id, *part]).fetchall()
                    for key, n_tokens, *blobs in rows:
                        score = _decode(n_tokens, blobs)
                        if score is not None:
                            found[key] = score
            except sqlite3.Error as e:
                self._disable(_reason(e))
                return {}
        return found

    def put_many(self, scorer_id: str, scores: dict[str, RawScore]) -> None:
        rows = [(scorer_id, key, int(s.attention.shape[0]), *(np.ascontiguousarray(a, dtype=FLOAT).tobytes() for a in s))
                for key, s in scores.items()]
        with self._lock:
            if self._db is None:
                return
            try:
                with self._db:  # one transaction: fast, and all or nothing
                    self._db.execute("BEGIN")
                    self._db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self._entries += len(rows)
                if self._entries > self.max_entries:
                    self._prune()
            except sqlite3.Error as e:
                self._disable(_reason(e))

    def _prune(self) -> None:
        self._entries = self._db.execute("SELECT count(*) FROM scores").fetchone()[0]  # replaced rows were counted twice
        excess = self._entries - int(self.max_entries * 0.9)
        if excess > 0:
            self._db.execute("DELETE FROM scores WHERE rowid IN (SELECT rowid FROM scores ORDER BY rowid LIMIT ?)", (excess,))
            self._entries -= excess

    def __len__(self) -> int:
        with self._lock:
            if self._db is None:
                return 0
            try:
                return self._db.execute("SELECT count(*) FROM scores").fetchone()[0]
            except sqlite3.Error as e:
                self._disable(_reason(e))
                return 0

    def close(self) -> None:
        with self._lock:
            self._close_quietly()


def _is_locked(error: sqlite3.Error) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _reason(error: sqlite3.Error) -> str:
    """What went wrong, in words that point to the right remedy."""
    if _is_locked(error):
        return "another process kept the score cache locked (it frees by itself when that process finishes writing)"
    if isinstance(error, sqlite3.DatabaseError) and ("not a database" in str(error) or "malformed" in str(error)):
        return f"the file is damaged ({error}); delete it to start a fresh cache"
    return f"cannot use the file as a score cache ({error})"


def _decode(n_tokens: int, blobs: list[bytes]) -> RawScore | None:
    weights, quality, cost, attention, mean_state = (np.frombuffer(b, dtype=FLOAT) for b in blobs)
    n_candidates = weights.size
    if n_candidates == 0 or quality.size != n_candidates or cost.size != n_candidates or attention.size != n_tokens * n_candidates:
        return None
    return RawScore(weights, quality, cost, attention.reshape(n_tokens, n_candidates), mean_state)
