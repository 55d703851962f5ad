"""A candidate router in shadow: every request is also scored and decided by it, and its choice and predicted cost
are logged beside the router's own, without acting on them. It scores on a thread of its own, at most a bounded
number of requests behind; past that a request goes without a shadow decision (counted), so a slow candidate never
holds up traffic."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MAX_BEHIND = 64  # requests waiting for the shadow's scorer before the next ones go without


class Shadow:
    def __init__(self, router, source: str):
        self.router, self.source = router, source
        self.rule = router.policy("linear")
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossroute-shadow")
        self.behind = 0
        self.skipped = 0  # requests that went without a shadow decision: the shadow was too far behind, or failed
        self.pending: dict[str, asyncio.Task] = {}  # request_id -> its shadow decision, until the record is written

    def _decide(self, text: str, lam: float, allowed: np.ndarray | None, input_tokens: int | None) -> tuple[str, float]:
        scores = self.router.scores([text], input_tokens=None if input_tokens is None else [input_tokens])
        mask = None if allowed is None else allowed[None, :]
        choice = int(self.rule.utilities_and_choice(scores.quality, scores.cost, lam, scores.weights, mask)[1][0])
        return self.router.candidates[choice], float(scores.cost[0, choice])

    def start(self, request_id: str, text: str, lam: float, allowed: np.ndarray | None, input_tokens: int | None) -> None:
        """Decide in the background; the record picks the result up when it is written (fill)."""
        if self.behind >= MAX_BEHIND:
            self.skipped += 1
            return
        self.behind += 1
        loop = asyncio.get_running_loop()

        async def run():
            try:
                return await loop.run_in_executor(self.pool, self._decide, text, lam, allowed, input_tokens)
            finally:
                self.behind -= 1

        self.pending[request_id] = loop.create_task(run())

    async def settle(self, record, seconds: float) -> None:
        """Wait (at most `seconds`) for the request's shadow decision, then fill it in."""
        task = self.pending.get(record.request_id)
        if task is not None and not task.done():
            await asyncio.wait([task], timeout=seconds)
        self.fill(record)

    def fill(self, record) -> None:
        """The shadow's decision into the record, if it has one by now (else the record goes without; counted)."""
        task = self.pending.pop(record.request_id, None)
        if task is None:
            return
        if not task.done() or task.cancelled() or task.exception() is not None:
            if not task.done():
                task.cancel()
            self.skipped += 1
            return
        record.shadow_model, record.shadow_predicted_cost_usd = task.result()
        record.shadow_router = self.router.id

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
