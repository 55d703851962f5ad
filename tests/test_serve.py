"""The router server as a client meets it: started on 127.0.0.1 by the test, called with the official openai client,
in front of a fake OpenAI-compatible upstream that can be told to fail. No key, no network."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import yaml
from fake_upstream import CACHED_TOKENS, COMPLETION_TOKENS, PROMPT_TOKENS, fake_upstream
from serve_support import (
    CHAT,
    MATHS,
    ROOT,
    SAMPLE_ROUTER,
    client,
    decision,
    free_port,
    models_yaml,
    serve,
)
from serve_support import decision as decision_row

from router_core import Router
from router_core.serve.tokens import prompt_tokens

pytestmark = [pytest.mark.server]


@pytest.fixture(scope="module")
def router():
    return Router.load(SAMPLE_ROUTER)


@pytest.fixture(scope="module")
def upstream():
    with fake_upstream() as (url, fake):
        yield url, fake


@pytest.fixture(scope="module")
def server(tmp_path_factory, upstream, router):
    folder = tmp_path_factory.mktemp("serve")
    config = models_yaml(folder / "config.yaml", upstream[0], router)
    with serve("--models", str(config), "--upstream-timeout", "1", "--retries", "1", log_dir=folder / "log") as url:
        yield url, folder / "log"


@pytest.fixture
def fake(upstream):
    upstream[1].reset()
    yield upstream[1]
    upstream[1].reset()


def test_lambda_ends_route_to_the_models_the_library_chooses(server, fake, router):
    url, log_dir = server
    best_quality = router.route(MATHS, 0.0)[0].candidate
    cheapest = router.route(MATHS, 1.0)[0].candidate
    assert best_quality != cheapest
    for model, expected, lam in (("crossroute-0", best_quality, 0.0), ("crossroute-1", cheapest, 1.0)):
        raw = client(url).chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": MATHS}])
        reply = raw.parse()
        assert reply.model == expected and raw.headers["x-crossroute-model"] == expected
        assert reply.choices[0].message.content == f"answer from {expected}"
        assert float(raw.headers["x-crossroute-lambda"]) == lam
        tokens = prompt_tokens([{"role": "user", "content": MATHS}])  # the whole prompt, counted as the server counts it
        predicted = router.decide(router.scores([MATHS], input_tokens=[tokens]), lam)[0].predicted_cost_usd
        assert float(raw.headers["x-crossroute-predicted-cost-usd"]) == pytest.approx(predicted, rel=1e-5)
        assert fake.calls_to(expected) == 1
    record = decision(log_dir, reply.id)
    assert record["model"] == cheapest and record["lam"] == 1.0 and record["lam_source"] == "request"
    assert record["status"] == "ok" and record["fallback_reason"] is None and record["prompt"] is None
    assert set(json.loads(record["candidates"])) == set(router.candidates)
    price = router.catalog[cheapest]
    assert record["cost_usd"] == pytest.approx((PROMPT_TOKENS * price.input_usd_per_1m + COMPLETION_TOKENS * price.output_usd_per_1m) / 1e6)


def test_extra_body_sets_lambda_and_the_server_lambda_applies_otherwise(server, fake, router):
    url, log_dir = server
    reply = client(url).chat.completions.create(model="crossroute", messages=[{"role": "user", "content": MATHS}],
                                                extra_body={"crossroute": {"lambda": 1.0}}, user="ana",
                                                metadata={"team": "search"})
    assert reply.model == router.route(MATHS, 1.0)[0].candidate
    record = decision(log_dir, reply.id)
    assert (record["user"], record["team"], record["lam"]) == ("ana", "search", 1.0)
    plain = client(url).chat.completions.create(model="crossroute", messages=[{"role": "user", "content": MATHS}])
    assert plain.model == router.route(MATHS, 0.2)[0].candidate  # the server's --lam default
    assert decision(log_dir, plain.id)["lam_source"] == "fixed"


def test_streaming_ends_with_done_and_names_the_model_called(server, fake, router):
    url, log_dir = server
    expected = router.route(CHAT, 1.0)[0].candidate
    stream = client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}], stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() == f"answer from {expected}" and {c.model for c in chunks} == {expected}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={"model": "crossroute-1", "stream": True,
                                                                  "messages": [{"role": "user", "content": CHAT}]}) as raw:
        lines = [line for line in raw.iter_lines() if line]
        request_id = raw.headers["x-crossroute-request-id"]
    assert lines[-1] == "data: [DONE]"
    record = decision(log_dir, request_id)
    assert record["model"] == expected and record["output_tokens"] == COMPLETION_TOKENS and record["status"] == "ok"


def test_soft_routing_calls_each_model_once_names_them_and_sums_the_usage(server, fake, router):
    url, log_dir = server
    decision = router.route(MATHS, 0.3, k=2)[0]
    assert decision.aggregator not in decision.candidates  # the aggregator merges; it never also answers
    raw = client(url).chat.completions.with_raw_response.create(model="crossroute-0.3-k2",
                                                                messages=[{"role": "user", "content": MATHS}])
    reply = raw.parse()
    assert reply.model == "+".join(decision.candidates) == raw.headers["x-crossroute-model"]
    assert raw.headers["x-crossroute-merged-by"] == decision.aggregator
    assert reply.choices[0].message.content == f"answer from {decision.aggregator}"
    called = [c["model"] for c in fake.calls]
    assert sorted(called) == sorted([*decision.candidates, decision.aggregator]) and len(set(called)) == len(called)
    merge_call = fake.calls[-1]["messages"][-1]["content"]
    assert all(f"answer from {m}" in merge_call for m in decision.candidates)  # the aggregator saw both answers
    assert reply.usage.prompt_tokens == 3 * PROMPT_TOKENS and reply.usage.completion_tokens == 3 * COMPLETION_TOKENS
    assert reply.usage.prompt_tokens_details.cached_tokens == 3 * CACHED_TOKENS  # every call's details, summed
    extra = reply.model_extra["crossroute"]
    assert extra["merged"] == list(decision.candidates) and extra["merged_by"] == decision.aggregator
    record = decision_row(log_dir, reply.id)
    assert record["top_k"] == 2 and sorted(json.loads(record["called"])) == sorted(called)  # the k calls run at once
    expected = sum((PROMPT_TOKENS * router.catalog[m].input_usd_per_1m + COMPLETION_TOKENS * router.catalog[m].output_usd_per_1m) / 1e6
                   for m in called)
    assert record["cost_usd"] == pytest.approx(expected)
    chunks = list(client(url).chat.completions.create(model="crossroute-0.3-k2", messages=[{"role": "user", "content": MATHS}],
                                                      stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"answer from {decision.aggregator}"
    assert chunks[-1].usage.completion_tokens == 3 * COMPLETION_TOKENS and {c.model for c in chunks} == {reply.model}


def test_a_soft_request_the_server_cannot_relay_whole_is_refused(server, fake):
    url, _ = server
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
    for extra, param in (({"tools": tools}, "model"), ({"n": 2}, "n"), ({"logprobs": True}, "logprobs")):
        response = httpx.post(f"{url}/v1/chat/completions", json={"model": "crossroute-0.3-k2", **extra,
                                                                  "messages": [{"role": "user", "content": MATHS}]})
        assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text
    assert fake.calls == []  # refused before any model was called


@pytest.mark.parametrize("mode", ["fail", "stall", "malformed", "drop"])
def test_every_upstream_fault_ends_in_a_fallback_answer_with_its_reason(server, fake, router, mode):
    url, log_dir = server
    chosen = router.route(MATHS, 0.0)[0].candidate
    fake.set(chosen, mode)
    for stream in (False, True):
        if stream:
            chunks = list(client(url).chat.completions.create(model="crossroute-0", stream=True,
                                                              messages=[{"role": "user", "content": MATHS}]))
            model, text = chunks[0].model, "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
            request_id = chunks[0].id
        else:
            reply = client(url).chat.completions.create(model="crossroute-0", messages=[{"role": "user", "content": MATHS}])
            model, text, request_id = reply.model, reply.choices[0].message.content, reply.id
        assert model != chosen and text == f"answer from {model}"
        record = decision(log_dir, request_id)
        assert record["status"] == "ok" and record["model"] == model
        assert record["fallback_reason"].startswith(f"{chosen} failed")


def test_bad_requests_get_openai_style_errors_with_the_right_status(server):
    url, _ = server
    cases = [(b"{not json", 400, "invalid_json"),
             (json.dumps({"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}).encode(), 404, "model_not_found"),
             (json.dumps({"model": "crossroute-1.5", "messages": [{"role": "user", "content": "x"}]}).encode(), 400, None),
             (json.dumps({"model": "crossroute", "crossroute": {"lambda": -0.1}, "messages": [{"role": "user", "content": "x"}]}).encode(), 400, None),
             (json.dumps({"model": "crossroute", "messages": []}).encode(), 400, None),
             (json.dumps({"model": "crossroute", "messages": [{"role": "user", "content": "x" * (5 * 2**20)}]}).encode(), 413, "request_too_large")]
    for body, status, code in cases:
        response = httpx.post(f"{url}/v1/chat/completions", content=body, headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code == status, (body[:80], response.text)
        error = response.json()["error"]
        assert error["message"] and error["type"] == "invalid_request_error"
        if code:
            assert error["code"] == code


def test_models_health_and_metrics_describe_what_happened(server, fake):
    url, _ = server
    assert [m.id for m in client(url).models.list().data] == ["crossroute"]
    assert httpx.get(f"{url}/health").json()["status"] == "ok"
    client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}])
    metrics = httpx.get(f"{url}/metrics").text
    assert "crossroute_routing_seconds_bucket" in metrics and 'crossroute_tokens_total{direction="output"' in metrics
    assert "crossroute_spend_usd_total" in metrics and 'crossroute_rejected_requests_total{status="404"}' in metrics


def test_a_corrupt_router_refuses_to_start_with_a_clear_error(tmp_path):
    damaged = shutil.copytree(SAMPLE_ROUTER, tmp_path / "router")
    weights = damaged / "router.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    result = subprocess.run([sys.executable, "-m", "router_core", "serve", "--router", str(damaged), "--demo",
                             "--log", str(tmp_path / "log"), "--port", str(free_port())],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert result.stderr.startswith("error:") and "router.safetensors" in result.stderr and "Traceback" not in result.stderr


def test_a_config_that_misses_a_router_model_refuses_to_start(tmp_path, router):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"model_list": [{"model_name": router.candidates[0],
                                                      "litellm_params": {"model": "openai/x"}}]}))
    result = subprocess.run([sys.executable, "-m", "router_core", "serve", "--models", str(config), "--log",
                             str(tmp_path / "log"), "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "no model_list entry for" in result.stderr and router.candidates[1] in result.stderr


def test_the_decision_log_is_intact_and_holds_every_answered_request_after_sigkill_mid_load(tmp_path, upstream, router):
    url_upstream, fake = upstream
    fake.reset()
    log_dir = tmp_path / "log"
    config = models_yaml(tmp_path / "config.yaml", url_upstream, router)
    started = []
    answered = []
    with serve("--models", str(config), log_dir=log_dir, started=started) as url:
        def one(i):
            try:
                reply = client(url).chat.completions.create(model="crossroute",
                                                            messages=[{"role": "user", "content": f"{CHAT} #{i}"}])
                answered.append(reply.id)
            except Exception:  # the server is killed under some of them
                pass

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(one, i) for i in range(200)]
            while len(answered) < 40:
                time.sleep(0.01)
            os.killpg(started[0].pid, signal.SIGKILL)
            for future in futures:
                future.result()
    connection = sqlite3.connect(log_dir / "decisions.sqlite")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = connection.execute("SELECT request_id, model, status, cost_usd FROM decisions").fetchall()
    connection.close()
    assert 0 < len(rows) <= 200 and len({r[0] for r in rows}) == len(rows)
    assert all(r[1] in router.candidates and r[2] == "ok" and r[3] > 0 for r in rows)  # every record whole
    assert set(answered) <= {r[0] for r in rows}  # an answer goes out once its record is committed


def test_demo_mode_answers_without_a_key_and_logs_real_decisions(tmp_path, router):
    with serve("--demo", log_dir=tmp_path / "log") as url:
        reply = client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": MATHS}])
    expected = router.route(MATHS, 1.0)[0].candidate
    assert reply.model == expected and "demo answer" in reply.choices[0].message.content
    assert reply.usage.completion_tokens > 0
    record = decision(tmp_path / "log", reply.id)
    assert record["model"] == expected and record["cost_usd"] > 0
    summary = subprocess.run([sys.executable, "-m", "router_core", "decisions", "--log", str(tmp_path / "log"), "--since", "1h"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert summary.returncode == 0 and summary.stdout.startswith("1 requests from") and expected in summary.stdout


def test_lambda_policy_file_edits_take_effect_and_a_broken_file_changes_nothing(tmp_path, upstream, router):
    url_upstream, fake = upstream
    fake.reset()
    config = models_yaml(tmp_path / "config.yaml", url_upstream, router)
    policy = tmp_path / "policy.yaml"
    policy.write_text("lambda: 0\n")
    best, cheapest = router.route(MATHS, 0.0)[0].candidate, router.route(MATHS, 1.0)[0].candidate
    with serve("--models", str(config), "--lambda-policy", str(policy), "--admin-token-env", "ADMIN_TOKEN",
               log_dir=tmp_path / "log", env_extra={"ADMIN_TOKEN": "s3cret"}) as url:
        replies = []

        def ask():
            replies.append(client(url).chat.completions.create(model="crossroute", messages=[{"role": "user", "content": MATHS}]))
            return replies[-1].model

        assert ask() == best
        policy.write_text("lambda: 1\n")
        deadline = time.monotonic() + 30
        while ask() != cheapest:
            assert time.monotonic() < deadline, "the edited policy file did not take effect within 30 s"
            time.sleep(0.2)
        record = decision(tmp_path / "log", replies[-1].id)
        assert (record["lam"], record["lam_source"]) == (1.0, "fixed")

        policy.write_text("lambda: 7\n")  # broken: refused, λ = 1 stays in force
        headers = {"authorization": "Bearer s3cret"}
        deadline = time.monotonic() + 30
        while not (state := httpx.get(f"{url}/admin/lambda-policy", headers=headers).json())["errors"]:
            assert time.monotonic() < deadline, "the broken policy file was not refused within 30 s"
            time.sleep(0.2)
        assert ask() == cheapest
        assert state["lambda"] == 1.0 and "lambda must be a number in [0, 1], got 7" in state["errors"][-1]

        assert httpx.get(f"{url}/admin/lambda-policy").status_code == 401
        assert httpx.get(f"{url}/admin/lambda-policy", headers={"authorization": "Bearer nope"}).status_code == 401
        refused = httpx.put(f"{url}/admin/lambda-policy", headers=headers, content=b"schedule: weekends")
        assert refused.status_code == 400 and "unknown preset" in refused.json()["error"]["message"]
        hours = "schedule: {hours: [" + ", ".join(["0"] * 24) + "]}"
        assert httpx.put(f"{url}/admin/lambda-policy", headers=headers, content=hours.encode()).json()["source"] == "schedule"
        assert ask() == best
        assert decision(tmp_path / "log", replies[-1].id)["lam_source"] == "schedule"


def test_the_admin_endpoint_is_off_without_a_token(server):
    url, _ = server
    response = httpx.get(f"{url}/admin/lambda-policy", headers={"authorization": "Bearer anything"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_budget_policy_routes_with_the_controllers_lambda_and_rebuilds_todays_spend(tmp_path, router):
    from router_core.decisionlog.store import DecisionLog
    from router_core.live.policy import Budget, LambdaPolicy
    from router_core.live.serving import LivePolicy

    log = DecisionLog(tmp_path)
    decision = router.route(MATHS, 0.2)[0]
    for cost in (0.25, 0.5):  # two requests earlier today
        log.append({"ts": time.time() - 60, "request_id": f"r{cost}", "status": "ok", "candidates": decision.per_candidate,
                    "called": [decision.candidate], "cost_usd": cost, "lam": 0.2, "lam_source": "budget"})
    log.append({"ts": time.time() - 3 * 86400, "request_id": "old", "status": "ok", "candidates": decision.per_candidate,
                "called": [decision.candidate], "cost_usd": 9.0, "lam": 0.2, "lam_source": "budget"})
    log.close()
    live = LivePolicy(router, LambdaPolicy(budget=Budget(1.0, floor=0.1, ceiling=0.9)), log_dir=tmp_path)
    assert live.controller.spent == pytest.approx(0.75)  # today's measured spend, not the older day's
    lam, source = live.lam()
    assert source == "budget" and 0.1 <= lam <= 0.9
    live.set(LambdaPolicy(budget=Budget(0.5)))  # already over budget today: the cheapest routing
    assert live.lam() == (1.0, "budget")


def test_serve_without_log_writes_under_the_users_data_folder_not_the_current_one(tmp_path):
    port, cwd, data_home = free_port(), tmp_path / "work", tmp_path / "data"
    cwd.mkdir()
    env = {**os.environ, "XDG_DATA_HOME": str(data_home), "HF_HUB_OFFLINE": "1"}
    env.pop("CROSSROUTE_DECISIONS", None)
    process = subprocess.Popen([sys.executable, "-m", "router_core", "serve", "--demo", "--port", str(port),
                                "--router", str(ROOT / "sample_data" / "router")], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, "the server exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        reply = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=60,
                           json={"model": "crossroute", "messages": [{"role": "user", "content": "hi"}]})
        assert reply.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert (data_home / "crossroute" / "decisions" / "decisions.sqlite").exists()
    assert list(cwd.iterdir()) == []  # nothing written where the server was started
