"""The server's surfaces under generated hostile input, with a fixed seed (benchmarks/reliability.py runs any seed):
1,000 broken requests, 1,000 admin API calls, 1,000 policy texts, clients that leave mid-stream, slow clients and an
upstream that fails at random. Zero crashes, zero silent wrongs, zero hangs, zero answered requests without a record,
and no decision log write failing."""
from __future__ import annotations

import asyncio
import random
import socket
import time

import httpx
import pytest
from reliability_server import TOKEN, fuzz_server
from server_fuzz import admin_fuzz, judge, policy_fuzz, request_fuzz, wait_for_rows

pytestmark = [pytest.mark.server, pytest.mark.slow]
SEED, CASES = 0, 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with fuzz_server(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


def test_a_thousand_broken_requests_are_each_answered_or_refused_clearly(server):
    url, log_dir, _, _ = server
    outcomes = request_fuzz(url, log_dir, SEED, CASES)
    assert not outcomes["unrecorded"], f"{len(outcomes['unrecorded'])} answered requests have no decision record"
    bad = {k: outcomes[k][:3] for k in ("crash", "silent wrong", "hang") if outcomes[k]}
    assert not bad, bad
    assert len(outcomes["clear error"]) > CASES // 2 and len(outcomes["ok"]) > 20


def test_a_thousand_admin_api_calls_get_the_status_their_token_and_text_call_for(server):
    url, _, _, _ = server
    outcomes = admin_fuzz(url, TOKEN, SEED + 1, CASES)
    assert not outcomes["wrong"], outcomes["wrong"][:5]
    state = httpx.get(f"{url}/admin/lambda-policy", headers={"authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert state.status_code == 200 and len(state.content) < 20_000 and state.json()


def test_a_thousand_policy_texts_parse_or_are_refused_in_one_line():
    outcomes = policy_fuzz(SEED + 2, CASES)
    assert not outcomes["wrong"] and not outcomes["crash"], (outcomes["wrong"] + outcomes["crash"])[:5]
    assert outcomes["ok"] and outcomes["clear error"]


def test_clients_leaving_mid_stream_and_an_upstream_failing_at_random_lose_no_record(server):
    url, log_dir, fake, router = server
    fake.set(router.candidates[0], "slow")
    left = set()
    for i in range(10):
        with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=60, json={
                "model": "crossroute-0", "stream": True, "messages": [{"role": "user", "content": f"Prove theorem {i}"}]}) as r:
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    left.add(r.headers["x-crossroute-request-id"])
                    break
    fake.reset()
    rng = random.Random(SEED + 3)

    async def chaos():
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
            gate = asyncio.Semaphore(16)

            async def one(i):
                async with gate:
                    for model in router.candidates:  # each call of each model fails, stalls or drops at random
                        fake.set(model, rng.choice(["ok", "ok", "fail", "drop", "malformed"]))
                    response = await client.post("/v1/chat/completions", json={
                        "model": rng.choice(["crossroute", "crossroute-0.7", "crossroute-0.3-k2"]), "stream": rng.random() < 0.3,
                        "messages": [{"role": "user", "content": f"Chaos request {i}"}]})
                    return response.status_code, response.headers.get("x-crossroute-request-id"), response.content

            return await asyncio.gather(*(one(i) for i in range(200)))

    results = asyncio.run(chaos())
    fake.reset()
    crashes = [r for r in results if judge(r[0], r[2] if not r[2].startswith(b"data:") else b"", False, None,
                                           upstream_may_fail=True) in ("crash", "hang")]
    assert not crashes, crashes[:3]
    answered = {request_id for status, request_id, _ in results if status == 200}
    rows = wait_for_rows(log_dir, answered | left)
    assert answered | left <= set(rows), f"{len((answered | left) - set(rows))} requests without a record"
    assert {rows[i] for i in left} == {"cancelled"}
    metrics = httpx.get(f"{url}/metrics").text
    assert "crossroute_decision_log_failures 0.0" in metrics


def test_slow_clients_are_cut_off_and_the_server_answers_the_rest(server):
    url, _, _, _ = server
    host, port = url.removeprefix("http://").split(":")
    sockets = [socket.create_connection((host, int(port))) for _ in range(20)]
    for s in sockets:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")  # never finished
    assert httpx.get(f"{url}/health", timeout=30).json()["status"] == "ok"
    deadline = time.monotonic() + 60
    open_ones = list(sockets)
    while open_ones and time.monotonic() < deadline:
        for s in list(open_ones):
            s.setblocking(False)
            try:
                if s.recv(1024) == b"":
                    open_ones.remove(s)
            except BlockingIOError:
                pass
            except OSError:
                open_ones.remove(s)
        time.sleep(0.2)
    for s in sockets:
        s.close()
    assert not open_ones, f"{len(open_ones)} of 20 idle connections still open after 60 s"
