"""The λ policy in force while serving: from `--lambda-policy policy.yaml` (watched: a change takes effect within a
couple of seconds; a broken file is refused with a logged error and the previous policy stays) or the admin endpoint.
A budget policy runs the BudgetController, rebuilt at start from today's decision log and updated every minute.

With a decision log, the controller's evidence is the log itself, read again before every update: replicas of the
server sharing one log then share one budget, each seeing every replica's spend within a minute."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import stat
import time
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.decisionlog.queries import charges_since
from router_core.decisionlog.schema import log_path
from router_core.errors import RouterInputError
from router_core.files import write_text_atomic
from router_core.live.budget import BudgetController
from router_core.live.policy import MAX_POLICY_BYTES, LambdaPolicy, load_policy, read_policy

log = logging.getLogger("crossroute.serve")
WATCH_SECONDS = 0.5
UPDATE_SECONDS = 60.0
POLICY_FILE = "policy_in_force.yaml"  # written beside the decision log whenever a policy takes effect
MAX_ERROR_CHARS = 1000  # a refusal kept for GET /admin/lambda-policy: enough to act on, never the whole input


def check_servable(policy: LambdaPolicy) -> LambdaPolicy:
    """A server follows a constant, a schedule or a live budget; a fitted budget needs a log to be fitted on."""
    if policy.fitted_budget is not None:
        raise RouterInputError("fitted_budget needs a request log to fit its constant λ on, so a server cannot follow it; "
                               "use `budget: {daily_usd: ...}` for a live budget, or `crossroute simulate --schedule "
                               "fitted-budget:USD` to find the λ and serve it as `lambda: ...`")
    return policy


class LivePolicy:
    def __init__(self, router, policy: LambdaPolicy, path: str | Path | None = None, log_dir: str | Path | None = None,
                 update_seconds: float = UPDATE_SECONDS):
        self.router, self.path, self.log_dir = router, Path(path) if path else None, log_dir
        self.rule = router.policy("linear")
        self.errors: list[str] = []  # the last refusals, newest last (for /admin and the tests)
        self.failures = 0  # policies refused and watcher failures since start (counted in /metrics)
        self._digest = self._file_digest()
        self._next_poll = 0.0
        self.update_seconds = update_seconds  # how often a budget moves λ
        self._next_update = time.monotonic() + update_seconds
        self.controller: BudgetController | None = None
        self._last_id = 0  # the last decision-log row the controller has seen
        self.set(policy)

    def _file_digest(self) -> str | None:
        """The policy file's digest; a file that is not a regular one (a FIFO, a device) or is too big to be a policy
        gets a digest of what it is, so it is refused with a reason, never read (a FIFO would block the server)."""
        if self.path is None:
            return None
        try:
            info = self.path.stat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_POLICY_BYTES:
                return f"not a regular policy file: mode {info.st_mode:o}, {info.st_size} bytes"
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def use_router(self, router) -> None:
        """Decide with another router from now on (its κ and guard); a budget restarts from the log with it."""
        self.router, self.rule = router, router.policy("linear")
        self.set(self.policy)

    def set(self, policy: LambdaPolicy) -> None:
        """Put `policy` in force; a budget starts a controller from today's decision log."""
        check_servable(policy)
        self.policy = policy
        self.controller = None
        if policy.budget is not None:
            self.controller = BudgetController(policy.budget, self.rule)
            self._last_id = 0
            self._read_log()
            self.controller.update(self._now())
        log.warning("λ policy in force: %s", policy.describe())
        self._publish(policy)

    def _publish(self, policy: LambdaPolicy) -> None:
        """The policy in force, beside the decision log (POLICY_FILE), so the Monitoring page can show its budget."""
        if self.log_dir is None:
            return
        try:
            write_text_atomic(Path(self.log_dir) / POLICY_FILE, policy.to_yaml())
        except OSError as e:  # the log itself reports an unwritable folder; this file is only for display
            log.warning("could not write %s beside the decision log: %s", POLICY_FILE, e)

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
        predictions and the hourly profile of earlier days), by every server or hook writing to the log."""
        if self.log_dir is None or not log_path(self.log_dir).is_file():
            return
        try:
            charges = charges_since(self.log_dir, self._last_id, time.time() - 8 * 86400)
        except sqlite3.Error as e:
            log.error("decision log %s unreadable, the budget goes on without its latest records: %s",
                      log_path(self.log_dir), e)
            return
        for charge in charges:
            self._last_id = max(self._last_id, charge.id)
            when = pd.Timestamp(charge.ts, unit="s", tz="UTC").tz_convert(self.policy.timezone)
            self._evidence(when, charge.candidates, charge.called, charge.charged_usd)

    def reload(self, text: bytes | str | None = None, source: str | None = None) -> str | None:
        """Read the policy file (or `text`) again; on an error log it, keep the policy in force and return the message."""
        try:
            policy = read_policy(text, source or "request body") if text is not None else load_policy(self.path)
            check_servable(policy)
            self.set(policy)
        except Exception as e:  # noqa: BLE001 - whatever a file holds, the policy in force stays and serving goes on
            message = str(e) if isinstance(e, RouterInputError) else f"{source or self.path}: {type(e).__name__}: {e}"
            return self._refused(message)
        return None

    def _refused(self, message: str) -> str:
        message = message if len(message) <= MAX_ERROR_CHARS else message[:MAX_ERROR_CHARS] + "…"
        self.errors = (self.errors + [message])[-10:]
        self.failures += 1
        log.error("λ policy refused, the previous one stays in force: %s", message)
        return message

    def poll(self) -> None:
        """Re-read the policy file if it changed; update the budget controller if a minute has passed. Cheap enough
        to call on every request (it acts at most every WATCH_SECONDS). Never raises: a failure is logged, counted and
        kept in `errors`, and the next poll tries again."""
        now = time.monotonic()
        if now < self._next_poll:
            return
        self._next_poll = now + WATCH_SECONDS
        try:
            if self.path is not None:
                digest = self._file_digest()
                if digest is not None and digest != self._digest:
                    self._digest = digest
                    self.reload()
            if self.controller is not None and now >= self._next_update:
                self._next_update = now + self.update_seconds
                self._read_log()
                self.controller.update(self._now())
        except Exception as e:  # noqa: BLE001 - the watcher and the budget's updates must outlive anything
            log.exception("λ policy watcher: %s", e)
            self._refused(f"the policy watcher failed once and goes on: {type(e).__name__}: {e}")

    async def watch(self) -> None:
        """The server's loop: poll the policy file and the controller's clock."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            self.poll()
