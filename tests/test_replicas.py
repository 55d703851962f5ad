"""Several replicas of the router server share nothing but the decision log: two servers on two ports, writing one
log at once, lose and double no record; a budget is shared through the log."""
from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fake_upstream import fake_upstream
from serve_support import (
    CHAT,
    MATHS,
    SAMPLE_ROUTER,
    client,
    decisions,
    models_yaml,
    serve,
)

from router_core import Router

pytestmark = [pytest.mark.server, pytest.mark.slow]

PER_REPLICA = 120


@pytest.fixture(scope="module")
def router():
    return Router.load(SAMPLE_ROUTER)


def test_two_replicas_on_two_ports_write_one_decision_log_at_once(tmp_path, router):
    log_dir = tmp_path / "log"
    with fake_upstream() as (upstream_url, fake):
        config = models_yaml(tmp_path / "config.yaml", upstream_url, router)
        with serve("--models", str(config), log_dir=log_dir) as first, serve("--models", str(config), log_dir=log_dir) as second:
            assert first != second

            def ask(job: tuple[str, int]) -> tuple[str, str, str]:
                url, i = job
                raw = client(url).chat.completions.with_raw_response.create(
                    model="crossroute", messages=[{"role": "user", "content": f"{(MATHS, CHAT)[i % 2]} #{i}"}])
                return url, raw.headers["x-crossroute-request-id"], raw.parse().model

            jobs = [(url, i) for i in range(PER_REPLICA) for url in (first, second)]  # both replicas busy at once
            with ThreadPoolExecutor(12) as pool:
                answers = list(pool.map(ask, jobs))
            failures = [httpx.get(f"{url}/metrics", timeout=10).text for url in (first, second)]
        rows = decisions(log_dir)
    assert all("crossroute_decision_log_failures 0.0" in text for text in failures)
    assert len(answers) == 2 * PER_REPLICA and all(model in router.candidates for _, _, model in answers)
    assert len(rows) == 2 * PER_REPLICA  # nothing lost, nothing doubled
    assert sorted(r["request_id"] for r in rows) == sorted(rid for _, rid, _ in answers)
    by_id = {r["request_id"]: r for r in rows}
    assert all(by_id[rid]["model"] == model and by_id[rid]["status"] == "ok" for _, rid, model in answers)
    connection = sqlite3.connect(log_dir / "decisions.sqlite")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    requests, spend = connection.execute("SELECT SUM(requests), SUM(spend_usd) FROM rollup").fetchone()
    connection.close()
    assert requests == 2 * PER_REPLICA  # the per-minute sums both replicas keep agree with the rows
    assert spend == pytest.approx(sum(r["cost_usd"] for r in rows))
    assert spend > 0


def test_replicas_sharing_a_log_share_one_budget(tmp_path, router):
    from router_core.decisionlog.store import DecisionLog
    from router_core.live.policy import Budget, LambdaPolicy
    from router_core.live.serving import LivePolicy

    policy = LambdaPolicy(budget=Budget(1.0, floor=0.0, ceiling=1.0))
    logs = [DecisionLog(tmp_path), DecisionLog(tmp_path)]  # one writer per replica, one file
    replicas = [LivePolicy(router, policy, log_dir=tmp_path) for _ in logs]
    decision = router.route(MATHS, 0.0)[0]
    for i in range(6):  # replica i % 2 answers request i and logs it; each replica hears only of its own
        replica, log = replicas[i % 2], logs[i % 2]
        replica.record(decision, 0.1, [decision.candidate])
        log.append({"ts": time.time(), "request_id": f"r{i}", "status": "ok", "candidates": decision.per_candidate,
                    "called": [decision.candidate], "cost_usd": 0.1, "lam": 0.0, "lam_source": "budget"})
    for log in logs:
        log.close()
    for replica in replicas:
        replica._next_poll = replica._next_update = 0.0  # the minute has passed
        replica.poll()
    assert [r.controller.spent for r in replicas] == [pytest.approx(0.6)] * 2  # every replica's spend, counted once
    assert replicas[0].lam() == replicas[1].lam()
    over = [LivePolicy(router, LambdaPolicy(budget=Budget(0.5)), log_dir=tmp_path) for _ in logs]
    assert all(r.lam() == (1.0, "budget") for r in over)  # 0.6 spent of 0.5: both route to the cheapest
