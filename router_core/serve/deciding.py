"""Scoring a request and choosing its model(s), off the event loop and within a time limit."""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from router_core.model.text import estimate_tokens


@dataclass
class Ask:
    """One request as the decider sees it."""

    text: str  # what the router reads (the last user turn and a summary of the context)
    lam: float
    k: int = 1
    input_tokens: int | None = None  # the whole prompt's tokens; None: estimated from `text`
    allowed: np.ndarray | None = None  # (M,) bool: models the request may use before scoring (its own list, capabilities)
    max_cost_usd: float | None = None  # predicted
    min_quality: float | None = None  # predicted


class Unsatisfiable(ValueError):
    """No model meets the request's own constraints: a client mistake (400), never a fallback."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


def _usd(value: float) -> str:
    return f"${value:.6g}"


def constrained(ask: Ask, quality: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """(M,) the models a request may use once its predicted quality and cost are known.

    Raises:
        Unsatisfiable naming the constraint that leaves no model.
    """
    allowed = np.ones(len(quality), dtype=bool) if ask.allowed is None else ask.allowed.copy()
    if ask.max_cost_usd is not None:
        cheap = cost <= ask.max_cost_usd
        if not (allowed & cheap).any():
            raise Unsatisfiable(f"crossroute.max_cost_usd: no model this request may use is predicted to cost at most "
                                f"{_usd(ask.max_cost_usd)} (the cheapest is predicted at {_usd(cost[allowed].min())})",
                                "crossroute.max_cost_usd")
        allowed &= cheap
    if ask.min_quality is not None:
        good = quality >= ask.min_quality
        if not (allowed & good).any():
            within = " within max_cost_usd" if ask.max_cost_usd is not None else ""
            raise Unsatisfiable(f"crossroute.min_quality: no model this request may use{within} is predicted to reach "
                                f"{ask.min_quality:g} (the best is predicted at {quality[allowed].max():.3f})",
                                "crossroute.min_quality")
        allowed &= good
    return allowed


@dataclass
class Decided:
    """What `Decider.decide` gives: a decision (scored, or degraded: from each model's typical quality and cost, which
    still honours λ), answer tokens per model, why it was degraded (None when scored) and the seconds it took."""

    decision: object
    answer_tokens: dict
    degraded: str | None
    seconds: float


class Decider:
    """Scores requests in batches on one worker thread: while a batch is scored, new requests queue, and the next batch
    takes them all at once. No request waits for others to arrive; identical prompts waiting together are scored once.

    When scoring cannot keep up, a request is decided at once on the degraded path (Router.typical_scores: the best
    fixed model at its λ) instead of waiting: when the queue ahead of it would take longer than the time limit, when
    its scoring passes the limit, or when scoring fails. Under overload the newest requests are scored first and those
    already decided on the degraded path not at all, so the scorer spends its time on requests it can still route.

    Args:
        timeout: seconds from arrival within which a request is scored, else degraded.
        max_batch: most queries scored together.
    """

    def __init__(self, router, policy: str = "linear", timeout: float = 0.1, max_batch: int = 32):
        self.router, self.policy, self.timeout, self.max_batch = router, policy, timeout, max_batch
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossroute-score")
        self._pending: list[tuple[Ask, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None
        self._in_flight = 0  # queries in the batch being scored now
        self.seconds_per_query = 0.02  # scoring time per query, learned from every batch (a moving average)

    def score_batch(self, asks: list[Ask]) -> list:
        """[Ask] -> [(decision, answer tokens per model) or Unsatisfiable], one scoring pass for them all."""
        counts = [a.input_tokens if a.input_tokens is not None else estimate_tokens(a.text) for a in asks]
        scores = self.router.scores([a.text for a in asks], input_tokens=counts)
        out: list = [None] * len(asks)
        by_ask: dict[tuple[float, int], list[int]] = {}
        masks: dict[int, np.ndarray | None] = {}
        for i, ask in enumerate(asks):
            try:
                plain = ask.allowed is None and ask.max_cost_usd is None and ask.min_quality is None
                masks[i] = None if plain else constrained(ask, scores.quality[i], scores.cost[i])
            except Unsatisfiable as e:
                out[i] = e
                continue
            by_ask.setdefault((ask.lam, ask.k), []).append(i)
        for (lam, k), index in by_ask.items():
            allowed = None
            if any(masks[i] is not None for i in index):
                allowed = np.stack([masks[i] if masks[i] is not None else np.ones(len(scores.candidates), dtype=bool)
                                    for i in index])
            try:
                decisions = self.router.decide(scores.rows(index), lam, k=k, policy=self.policy, allowed=allowed)
            except ValueError as e:  # soft routing with too few models left (RouterInputError)
                for i in index:
                    out[i] = Unsatisfiable(f"crossroute: {e}", "crossroute")
                continue
            for i, decision in zip(index, decisions):
                out[i] = (decision, dict(zip(scores.candidates, scores.answer_tokens[i].tolist())))  # the demo's lengths
        return out

    def typical(self, ask: Ask):
        """A degraded decision: the best fixed model at the request's λ, from each model's typical quality and cost.

        Raises:
            Unsatisfiable when the request's own constraints leave no model.
        """
        scores = self.router.typical_scores([ask.text], None if ask.input_tokens is None else [ask.input_tokens])
        allowed = constrained(ask, scores.quality[0], scores.cost[0])
        try:
            decision = self.router.decide(scores, ask.lam, k=ask.k, policy=self.policy, allowed=allowed[None, :])[0]
        except ValueError as e:
            raise Unsatisfiable(f"crossroute: {e}", "crossroute") from e
        return decision, dict(zip(scores.candidates, scores.answer_tokens[0].tolist()))

    def expected_wait(self) -> float:
        """Seconds a request arriving now would wait for its score: the queue ahead of it and the batch in flight."""
        waiting = sum(1 for _, future in self._pending if not future.done())
        return (waiting + self._in_flight) * self.seconds_per_query

    async def warm(self, lam: float) -> None:
        """Score a few times before serving: the first query opens the encoder's sessions; the rest time a query."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.pool, self.score_batch, [Ask("warm up the router", lam)])
        started = time.perf_counter()
        texts = [f"warm-up query number {i}: how long does one take to score?" for i in range(8)]
        await loop.run_in_executor(self.pool, self.score_batch, [Ask(text, lam) for text in texts])
        self.seconds_per_query = (time.perf_counter() - started) / len(texts)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._pending = [item for item in self._pending if not item[1].done()]  # timed out: already answered
            if not self._pending:
                break
            batch, self._pending = self._pending[-self.max_batch:], self._pending[:-self.max_batch]
            self._in_flight = len(batch)
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(self.pool, self.score_batch, [ask for ask, _ in batch])
            except Exception as e:  # noqa: BLE001 - handed to each waiting request, which is degraded
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            finally:
                self._in_flight = 0
            per_query = (time.perf_counter() - started) / len(batch)
            self.seconds_per_query = 0.8 * self.seconds_per_query + 0.2 * per_query
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)
        self._worker = None

    async def decide(self, ask: Ask) -> Decided:
        """The request's decision, scored within the time limit or else degraded (Decided.degraded says why).

        Raises:
            Unsatisfiable when the request's own constraints leave no model.
        """
        started = time.perf_counter()
        if self.expected_wait() > self.timeout:
            reason = "queue"  # the scorer is behind: waiting would only end in the degraded path, later
        else:
            future = asyncio.get_running_loop().create_future()
            self._pending.append((ask, future))
            if self._worker is None:
                self._worker = asyncio.create_task(self._drain())
            try:
                result = await asyncio.wait_for(asyncio.shield(future), timeout=self.timeout)
            except asyncio.TimeoutError:
                future.cancel()  # nobody waits for it now: the worker skips it
                reason = "timeout"
            except Exception as e:  # noqa: BLE001 - a router failure must never lose the request
                reason = f"error: {type(e).__name__}: {str(e)[:200]}"
            else:
                if isinstance(result, Unsatisfiable):
                    raise result
                decision, answer_tokens = result
                return Decided(decision, answer_tokens, None, time.perf_counter() - started)
        decision, answer_tokens = self.typical(ask)
        return Decided(decision, answer_tokens, reason, time.perf_counter() - started)

    def close(self) -> None:
        self.pool.shutdown(wait=False)
