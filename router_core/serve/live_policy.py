"""The λ policy in force while serving: from `--lambda-policy policy.yaml` (watched: a change takes effect within a
couple of seconds; a broken file is refused with a logged error and the previous policy stays) or the admin endpoint.
A budget policy runs the BudgetController, rebuilt at start from today's decision log and updated every minute.

With a decision log, the controller's evidence is the log itself, read again before every update: replicas of the
server sharing one log then share one budget, each seeing every replica's spend within a minute."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..budget_controller import BudgetController
from ..errors import RouterInputError
from ..lambda_policy import LambdaPolicy, load_policy, read_policy
from .decision_log import log_path

log = logging.getLogger("crossroute.serve")
WATCH_SECONDS = 0.5
UPDATE_SECONDS = 60.0


class LivePolicy:
    def __init__(self, router, policy: LambdaPolicy, path: str | Path | None = None, log_dir: str | Path | None = None):
        self.router, self.path, self.log_dir = router, Path(path) if path else None, log_dir
        self.rule = router.policy("linear")
        self.errors: list[str] = []  # the last refusals, newest last (for /admin and the tests)
        self._digest = self._file_digest()
        self._next_poll = 0.0
        self._next_update = time.monotonic() + UPDATE_SECONDS
        self.controller: BudgetController | None = None
        self._last_id = 0  # the last decision-log row the controller has seen
        self.set(policy)

    def _file_digest(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path else None
        except OSError:
            return None

    def set(self, policy: LambdaPolicy) -> None:
        """Put `policy` in force; a budget starts a controller from today's decision log."""
        self.policy = policy
        self.controller = None
        if policy.budget is not None:
            self.controller = BudgetController(policy.budget, self.rule)
            self._last_id = 0
            self._read_log()
            self.controller.update(self._now())
        log.warning("λ policy in force: %s", policy.describe())

    def _now(self) -> pd.Timestamp:
        return pd.Timestamp.now(tz="UTC").tz_convert(self.policy.timezone)

    def lam(self) -> tuple[float, str]:
        """λ for a request arriving now, and where it came from: fixed, schedule or budget."""
        if self.policy.lam is not None:
            return self.policy.lam, "fixed"
        if self.policy.schedule is not None:
            return float(self.policy.schedule.lam_at(pd.Series([pd.Timestamp.now(tz="UTC")]), self.policy.timezone)[0]), "schedule"
        return float(self.controller.lam), "budget"

    def record(self, decision, measured_usd: float, called: list[str]) -> None:
        """What a request was predicted to cost and did cost: the controller's evidence (from the decision log
        instead, when there is one, so that no request is counted twice)."""
        if self.controller is not None and decision is not None and self.log_dir is None:
            self._evidence(self._now(), decision.per_candidate, called, measured_usd)

    def _evidence(self, when: pd.Timestamp, per_candidate: dict | None, called: list[str], measured_usd: float) -> None:
        """One request for the controller, from a decision's per-model predictions (as the decision log keeps them)."""
        names = list(self.router.candidates)
        if not per_candidate or any(m not in per_candidate for m in names):  # no predictions: spend only
            self.controller.charge(when, measured_usd, measured_usd)
            return
        self.controller.observe(when, np.array([[per_candidate[m]["predicted_quality"] for m in names]]),
                                np.array([[per_candidate[m]["predicted_cost_usd"] for m in names]]))
        self.controller.charge(when, measured_usd, sum(per_candidate[m]["predicted_cost_usd"] for m in called if m in per_candidate))

    def _read_log(self) -> None:
        """The decisions logged since the last read (at start: the last 8 days, for today's spend, traffic and recent
        predictions and the hourly profile of earlier days), by every server writing to the log."""
        if self.log_dir is None or not log_path(self.log_dir).is_file():
            return
        since = time.time() - 8 * 86400
        try:
            connection = sqlite3.connect(f"file:{log_path(self.log_dir)}?mode=ro", uri=True, timeout=30)
            rows = connection.execute("SELECT id, ts, candidates, called, cost_usd FROM decisions WHERE id > ? AND ts >= ? "
                                      "AND status = 'ok' ORDER BY ts, id", (self._last_id, since)).fetchall()
            connection.close()
        except sqlite3.Error as e:
            log.error("decision log %s unreadable, the budget goes on without its latest records: %s",
                      log_path(self.log_dir), e)
            return
        self._last_id = max([self._last_id, *(r[0] for r in rows)])
        for _, ts, candidates, called, cost in rows:
            try:
                per = json.loads(candidates) if candidates else None
                models = json.loads(called) if called else []
            except ValueError:
                continue
            self._evidence(pd.Timestamp(ts, unit="s", tz="UTC").tz_convert(self.policy.timezone), per, models, float(cost or 0.0))

    def reload(self, text: bytes | str | None = None, source: str | None = None) -> str | None:
        """Read the policy file (or `text`) again; on an error log it, keep the policy in force and return the message."""
        try:
            policy = read_policy(text, source or "request body") if text is not None else load_policy(self.path)
        except RouterInputError as e:
            message = str(e)
            self.errors = (self.errors + [message])[-10:]
            log.error("λ policy refused, the previous one stays in force: %s", message)
            return message
        self.set(policy)
        return None

    def poll(self) -> None:
        """Re-read the policy file if it changed; update the budget controller if a minute has passed. Cheap enough
        to call on every request (it acts at most every WATCH_SECONDS)."""
        now = time.monotonic()
        if now < self._next_poll:
            return
        self._next_poll = now + WATCH_SECONDS
        if self.path is not None:
            digest = self._file_digest()
            if digest is not None and digest != self._digest:
                self._digest = digest
                self.reload()
        if self.controller is not None and now >= self._next_update:
            self._read_log()
            self.controller.update(self._now())
            self._next_update = now + UPDATE_SECONDS

    async def watch(self) -> None:
        """The server's loop: poll the policy file and the controller's clock."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            self.poll()
