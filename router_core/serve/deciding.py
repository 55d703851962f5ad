"""Scoring a request and choosing its model(s), off the event loop and within a time limit."""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor


class Decider:
    """Scores requests in batches on one worker thread: while a batch is scored, new requests queue, and the next batch
    takes them all at once (the encoder is far faster per query in a batch than one by one). No request waits for
    others to arrive. Under overload the newest requests are scored first and those already past their deadline (gone
    to the fallback order) not at all, so the scorer spends its time on requests it can still route.

    Args:
        timeout: seconds from arrival; past it (or when scoring raises) `decide` gives no decision and a reason, and
            the caller falls back.
        max_batch: most queries scored together.
    """

    def __init__(self, router, policy: str = "linear", timeout: float = 0.1, max_batch: int = 32):
        self.router, self.policy, self.timeout, self.max_batch = router, policy, timeout, max_batch
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossroute-score")
        self._pending: list[tuple[str, float, int, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None

    def score_batch(self, requests: list[tuple[str, float, int]]) -> list[tuple]:
        """[(prompt, λ, k)] -> [(decision, answer tokens per model)], one scoring pass for them all."""
        scores = self.router.scores([prompt for prompt, _, _ in requests])
        out: list = [None] * len(requests)
        by_ask: dict[tuple[float, int], list[int]] = {}
        for i, (_, lam, k) in enumerate(requests):
            by_ask.setdefault((lam, k), []).append(i)
        for (lam, k), index in by_ask.items():
            for i, decision in zip(index, self.router.decide(scores.rows(index), lam, k=k, policy=self.policy)):
                out[i] = (decision, dict(zip(scores.candidates, scores.answer_tokens[i].tolist())))  # the demo's lengths
        return out

    async def warm(self, lam: float) -> None:
        """Score once before serving: the first query opens the encoder's sessions."""
        await asyncio.get_running_loop().run_in_executor(self.pool, self.score_batch, [("warm up the router", lam, 1)])

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._pending = [item for item in self._pending if not item[3].done()]  # timed out: already answered
            if not self._pending:
                break
            batch, self._pending = self._pending[-self.max_batch:], self._pending[:-self.max_batch]
            try:
                results = await loop.run_in_executor(self.pool, self.score_batch, [item[:3] for item in batch])
            except Exception as e:  # noqa: BLE001 - handed to each waiting request, which falls back
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            for (*_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)
        self._worker = None

    async def decide(self, prompt: str, lam: float, k: int = 1):
        """(decision, answer tokens per model, fallback reason, seconds); decision is None when scoring failed or
        took longer than the timeout."""
        started = time.perf_counter()
        future = asyncio.get_running_loop().create_future()
        self._pending.append((prompt, lam, k, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain())
        try:
            decision, answer_tokens = await asyncio.wait_for(asyncio.shield(future), timeout=self.timeout)
            return decision, answer_tokens, None, time.perf_counter() - started
        except asyncio.TimeoutError:
            future.cancel()  # nobody waits for it now: the worker skips it
            reason = f"routing took over {self.timeout * 1000:.0f} ms"
        except Exception as e:  # noqa: BLE001 - a router failure must never lose the request
            reason = f"routing failed ({type(e).__name__}: {str(e)[:200]})"
        return None, {}, reason, time.perf_counter() - started

    def close(self) -> None:
        self.pool.shutdown(wait=False)
