"""Feedback on answered requests, stored beside the decisions it is about: one row per (request_id, source) in the
decision log's SQLite file, so a score sent twice replaces itself and a user's score and a judge's stay apart."""
from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from router_core.decisionlog.schema import log_file
from router_core.errors import RouterInputError

TABLE = """CREATE TABLE IF NOT EXISTS feedback (request_id TEXT NOT NULL, source TEXT NOT NULL, score REAL NOT NULL,
    comment TEXT, ts REAL NOT NULL, cost_usd REAL, PRIMARY KEY (request_id, source))"""
MAX_SOURCE = 64
MAX_COMMENT = 2000
THUMBS = {"up": 1.0, "down": 0.0}


class UnknownRequest(RouterInputError):
    """Feedback names a request the decision log does not hold."""


class BadFeedback(RouterInputError):
    """A feedback field that is not what it must be; `param` names it."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Feedback:
    request_id: str
    score: float  # in [0, 1]: 1 the best answer, 0 the worst
    source: str = "user"
    comment: str | None = None
    cost_usd: float | None = None  # what the feedback cost to get (a judge's call)


def checked(request_id, score=None, thumbs=None, source="user", comment=None) -> Feedback:
    """Feedback from a client's fields, or RouterInputError naming the field at fault."""
    if not isinstance(request_id, str) or not request_id.strip() or len(request_id) > 200:
        raise BadFeedback("request_id must be the x-crossroute-request-id of an answered request", "request_id")
    if (score is None) == (thumbs is None):
        raise BadFeedback("give either score (a number from 0 to 1) or thumbs ('up' or 'down')", "score")
    if thumbs is not None:
        if thumbs not in THUMBS:
            raise BadFeedback(f"thumbs must be 'up' or 'down', got {str(thumbs)[:40]!r}", "thumbs")
        score = THUMBS[thumbs]
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) or not 0 <= score <= 1:
        raise BadFeedback(f"score must be a number from 0 to 1, got {str(score)[:40]}", "score")
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE:
        raise BadFeedback(f"source must be a name of at most {MAX_SOURCE} characters", "source")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise BadFeedback(f"comment must be a text of at most {MAX_COMMENT} characters", "comment")
    return Feedback(request_id.strip(), float(score), source.strip(), comment)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(TABLE)
    return connection


def record(log: str | Path, feedback: Feedback) -> bool:
    """Store feedback against its decision. Returns True when it replaced earlier feedback from the same source.

    Raises:
        UnknownRequest when the log holds no decision with that request_id.
    """
    path = log_file(log)
    if not path.exists():
        raise UnknownRequest(f"no decision log at {path}")
    connection = _connect(path)
    try:
        with connection:
            known = connection.execute("SELECT 1 FROM decisions WHERE request_id = ? LIMIT 1", (feedback.request_id,)).fetchone()
            if known is None:
                raise UnknownRequest(f"no decision with request_id {feedback.request_id[:80]!r} in the log")
            earlier = connection.execute("SELECT 1 FROM feedback WHERE request_id = ? AND source = ?",
                                         (feedback.request_id, feedback.source)).fetchone()
            connection.execute("INSERT OR REPLACE INTO feedback (request_id, source, score, comment, ts, cost_usd) "
                               "VALUES (?, ?, ?, ?, ?, ?)", (feedback.request_id, feedback.source, feedback.score,
                                                             feedback.comment, time.time(), feedback.cost_usd))
    finally:
        connection.close()
    return earlier is not None


def scored_decisions(log: str | Path, sources: tuple[str, ...] | None = None) -> list[dict]:
    """Every answered, hard-routed decision that has feedback, with its mean score over the chosen sources (a user's
    score and a judge's are averaged; `sources` picks some). Columns: the decision's, plus `score` and `n_feedback`."""
    path = log_file(log)
    if not path.exists():
        raise RouterInputError(f"no decision log at {path}")
    connection = _connect(path)
    connection.row_factory = sqlite3.Row
    where = "" if not sources else f"AND f.source IN ({', '.join('?' for _ in sources)})"
    try:
        rows = connection.execute(
            f"""SELECT d.*, AVG(f.score) AS score, COUNT(f.score) AS n_feedback FROM decisions d
                JOIN feedback f ON f.request_id = d.request_id
                WHERE d.status = 'ok' AND d.top_k = 1 {where} GROUP BY d.id ORDER BY d.id""",
            tuple(sources or ())).fetchall()
    finally:
        connection.close()
    return [dict(r) for r in rows]


def spent_today(log: str | Path, source: str, now: float | None = None) -> float:
    """What feedback from `source` cost since midnight UTC (a judge's calls)."""
    path = log_file(log)
    if not path.exists():
        return 0.0
    now = time.time() if now is None else now
    midnight = now - now % 86400
    connection = _connect(path)
    try:
        value = connection.execute("SELECT TOTAL(cost_usd) FROM feedback WHERE source = ? AND ts >= ?",
                                   (source, midnight)).fetchone()[0]
    finally:
        connection.close()
    return float(value)
