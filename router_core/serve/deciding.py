"""Scoring a request and choosing its model(s), off the event loop and within a time limit; and the decision record
every integration (the server, the LiteLLM strategy and proxy hook) writes."""
from __future__ import annotations

import asyncio
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor


class Decider:
    """Args:
        timeout: seconds; past it (or when scoring raises) `decide` gives no decision and a reason, and the caller
            falls back. The scorer uses every core itself, so one worker thread is enough.
    """

    def __init__(self, router, policy: str = "linear", timeout: float = 0.1):
        self.router, self.policy, self.timeout = router, policy, timeout
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossroute-score")

    def score(self, prompt: str, lam: float, k: int = 1):
        scores = self.router.scores([prompt])
        decision = self.router.decide(scores, lam, k=k, policy=self.policy)[0]
        return decision, dict(zip(scores.candidates, scores.answer_tokens[0].tolist()))  # the demo's answer lengths

    async def warm(self, lam: float) -> None:
        """Score once before serving: the first query opens the encoder's sessions."""
        await asyncio.get_running_loop().run_in_executor(self.pool, self.score, "warm up the router", lam, 1)

    async def decide(self, prompt: str, lam: float, k: int = 1):
        """(decision, answer tokens per model, fallback reason, seconds); decision is None when scoring failed or
        took longer than the timeout."""
        started = time.perf_counter()
        try:
            future = asyncio.get_running_loop().run_in_executor(self.pool, self.score, prompt, lam, k)
            decision, answer_tokens = await asyncio.wait_for(future, timeout=self.timeout)
            return decision, answer_tokens, None, time.perf_counter() - started
        except asyncio.TimeoutError:
            reason = f"routing took over {self.timeout * 1000:.0f} ms"
        except Exception as e:  # noqa: BLE001 - a router failure must never lose the request
            reason = f"routing failed ({type(e).__name__}: {str(e)[:200]})"
        return None, {}, reason, time.perf_counter() - started

    def close(self) -> None:
        self.pool.shutdown(wait=False)


def base_record(request_id: str, prompt: str, lam: float, lam_source: str, policy: str, top_k: int, user=None, team=None,
                log_prompts: bool = False, arrived: float | None = None) -> dict:
    """The fields known before any model is called."""
    return {"ts": arrived if arrived is not None else time.time(), "request_id": request_id, "user": user, "team": team,
            "prompt_sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest(), "prompt": prompt if log_prompts else None,
            "lam": lam, "lam_source": lam_source, "policy": policy, "top_k": top_k}


def with_decision(record: dict, decision, reason: str | None, seconds: float) -> dict:
    record["routing_ms"] = seconds * 1000
    if decision is not None:
        record.update(candidates=decision.per_candidate, predicted_cost_usd=decision.predicted_cost_usd)
    if reason is not None:
        record["fallback_reason"] = reason
    return record
