"""A sampled judge: a share of answered requests (prompt and answer) go to a judge model with a fixed rubric, and its
score is stored as feedback (source `judge`) against the request's decision, with what the call cost.

The judge is one of the router's models, so its deployment and its price are known. Its spend is capped per UTC day:
before each call the most it can cost (the prompt read, MAX_TOKENS written, at the catalog's price) must fit in what
is left of the day's budget, so the budget is never exceeded; the day's spend so far is read from the feedback table at
start. With --demo the judge is a mock: a score derived from the answer's text, at no cost.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from datetime import datetime, timezone

from router_core.feedback import store
from router_core.model.text import estimate_tokens

log = logging.getLogger("crossroute.judge")
MAX_TOKENS = 8  # "Score: 10" and no more
MAX_CHARS = 12_000  # of the prompt and of the answer each: a judge reads enough to grade, not a whole transcript
RUBRIC = ("You grade an AI assistant's answer to a user's request. Judge only the answer: is it correct, does it do "
          "what was asked, is it complete without padding, is it clear? A correct, complete, clear answer scores 10; "
          "an answer that is wrong or refuses a reasonable request scores 1. Reply with one line and nothing else: "
          "Score: N, where N is a whole number from 1 to 10.")
SCORE = re.compile(r"score\s*[:=]?\s*(10|[1-9])\b", re.IGNORECASE)


def parse_score(text: str) -> float | None:
    """The judge's 1–10 as a score in [0, 1], or None when its reply holds none."""
    found = SCORE.search(text or "")
    return None if found is None else (int(found.group(1)) - 1) / 9


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")


class Judge:
    def __init__(self, model: str, rate: float, daily_budget_usd: float, catalog, log_path, rng, demo: bool = False):
        self.model, self.rate, self.daily_budget_usd, self.catalog = model, rate, daily_budget_usd, catalog
        self.log_path, self.rng, self.demo = log_path, rng, demo
        self.day, self.spent = _day(time.time()), store.spent_today(log_path, "judge")
        self.judged = self.skipped_budget = self.failed = 0
        self._tasks: set[asyncio.Task] = set()

    def bound_usd(self, prompt_tokens: int) -> float:
        """The most one call can cost: the whole prompt read and MAX_TOKENS written."""
        return 0.0 if self.demo else float(self.catalog[self.model].cost_usd(prompt_tokens, MAX_TOKENS))

    def consider(self, upstream, request_id: str, prompt: str, answer: str) -> None:
        """Judge this answered request with the sampling rate, if the day's budget allows (in the background)."""
        if not answer.strip() or self.rng.random() >= self.rate:
            return
        now = time.time()
        if _day(now) != self.day:
            self.day, self.spent = _day(now), 0.0
        messages = [{"role": "system", "content": RUBRIC},
                    {"role": "user", "content": f"Request:\n{prompt[:MAX_CHARS]}\n\nAnswer:\n{answer[:MAX_CHARS]}"}]
        bound = self.bound_usd(estimate_tokens(RUBRIC + messages[1]["content"]) + 16)
        if self.spent + bound > self.daily_budget_usd:
            self.skipped_budget += 1
            return
        self.spent += bound  # reserved now, so calls in flight cannot overrun the budget together
        task = asyncio.get_running_loop().create_task(self._judge(upstream, request_id, messages, answer, bound))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _judge(self, upstream, request_id: str, messages: list[dict], answer: str, bound: float) -> None:
        try:
            if self.demo:
                digest = hashlib.sha256(answer.encode("utf-8", "surrogatepass")).digest()
                reply, cost = f"Score: {1 + digest[0] % 10}", 0.0
            else:
                call = await upstream.call(self.model, messages, {"temperature": 0, "max_tokens": MAX_TOKENS})
                if call.error is not None:
                    raise RuntimeError(call.error)
                reply, cost = call.text, min(float(call.cost_usd), bound)
            self.spent += cost - bound  # the reservation becomes what the call cost
            score = parse_score(reply)
            if score is None:
                raise ValueError(f"the judge's reply holds no score: {reply[:80]!r}")
            await asyncio.get_running_loop().run_in_executor(
                None, store.record, self.log_path, store.Feedback(request_id, score, "judge", f"judge {self.model}: {reply[:40]}", cost))
            self.judged += 1
        except Exception as e:  # noqa: BLE001 - a judge's failure never touches the request it was judging
            self.failed += 1
            log.warning("judge %s on %s failed: %s", self.model, request_id, str(e)[:200])
