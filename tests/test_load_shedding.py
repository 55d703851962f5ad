"""The load-shedding contract: a server driven past what its scorer can keep up with answers every request and logs
every decision, deciding the requests it cannot score from each model's typical quality and cost at their λ (degraded,
and said so in the log and /metrics), never by sending them to the dearest model."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from fake_upstream import fake_upstream
from serve_support import SAMPLE_ROUTER, decisions, models_yaml, serve

from router_core import Router

pytestmark = [pytest.mark.server]

PROMPTS = 240
CLIENTS = 48
LAM = 0.6


def test_past_capacity_every_request_is_answered_and_recorded_and_degraded_ones_honour_lambda(tmp_path):
    router = Router.load(SAMPLE_ROUTER)
    typical = router.decide(router.typical_scores(["x"]), LAM)[0].candidate  # the best fixed model at this λ
    dearest = max(router.catalog.candidates, key=lambda c: c.output_usd_per_1m).name
    assert typical != dearest
    with fake_upstream() as (upstream_url, fake):
        fake.record = False
        config = models_yaml(tmp_path / "config.yaml", upstream_url, router)
        # A 5 ms routing limit: far less than one query takes to score, so most requests cannot wait for the scorer.
        with serve("--models", str(config), "--routing-timeout-ms", "5", log_dir=tmp_path / "log") as url:
            async def drive():
                limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
                async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
                    gate = asyncio.Semaphore(CLIENTS)

                    async def one(i: int):
                        async with gate:
                            body = {"model": f"crossroute-{LAM}",
                                    "messages": [{"role": "user", "content": f"Question {i}: summarise the causes of war {i}"}]}
                            response = await client.post("/v1/chat/completions", json=body)
                            return response.status_code, response.headers.get("x-crossroute-request-id")

                    return await asyncio.gather(*(one(i) for i in range(PROMPTS)))

            answers = asyncio.run(drive())
            metrics = httpx.get(f"{url}/metrics").text
        rows = decisions(tmp_path / "log", at_least=PROMPTS)
    assert [status for status, _ in answers] == [200] * PROMPTS  # nothing dropped, nothing failed
    assert sorted(r["request_id"] for r in rows) == sorted(request_id for _, request_id in answers)  # one record each
    degraded = [r for r in rows if r["degraded"] is not None]
    assert len(degraded) >= PROMPTS // 4, f"only {len(degraded)} of {PROMPTS} degraded: the scorer was not overloaded"
    assert {r["degraded"] for r in degraded} <= {"queue", "timeout"}
    assert {r["model"] for r in degraded} == {typical}  # at λ = 0.6, never the dearest model
    assert all(r["status"] == "ok" and r["fallback_reason"] is None and r["candidates"] for r in degraded)
    assert 'crossroute_degraded_decisions_total{reason="queue"}' in metrics or \
        'crossroute_degraded_decisions_total{reason="timeout"}' in metrics
