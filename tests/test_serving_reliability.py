"""The serving path under hostile input: no request switches off the decision log or the policy watcher, every error
body is bounded, a client that leaves mid-stream is still recorded, slow clients are cut off, and client mistakes are
4xx OpenAI-style errors, never a 500 or a call that fails on every model."""
from __future__ import annotations

import json
import os
import socket
import time

import httpx
import pytest
from fake_upstream import fake_upstream
from serve_support import CHAT, MATHS, SAMPLE_ROUTER, client, decision, decisions, models_yaml, serve

from router_core import Router

pytestmark = [pytest.mark.server]
ADMIN = {"authorization": "bearer s3cret"}  # the scheme in lower case is accepted too


@pytest.fixture(scope="module")
def router():
    return Router.load(SAMPLE_ROUTER)


@pytest.fixture(scope="module")
def upstream():
    with fake_upstream() as (url, fake):
        yield url, fake


@pytest.fixture(scope="module")
def server(tmp_path_factory, upstream, router):
    folder = tmp_path_factory.mktemp("hostile")
    config = models_yaml(folder / "config.yaml", upstream[0], router)
    policy = folder / "policy.yaml"
    policy.write_text("lambda: 0\n")
    with serve("--models", str(config), "--lambda-policy", str(policy), "--admin-token-env", "ADMIN_TOKEN",
               "--client-timeout", "2", log_dir=folder / "log", env_extra={"ADMIN_TOKEN": "s3cret"}) as url:
        yield url, folder / "log", policy


def wait_for(condition, what: str, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.1)
    return found


def test_a_lone_surrogate_in_user_or_team_is_answered_and_logged_escaped_and_the_log_goes_on(server):
    url, log_dir, _ = server
    raw = ('{"model": "crossroute-1", "user": "bob\\ud800", "metadata": {"team": "ops\\udfff"}, '
           '"messages": [{"role": "user", "content": "hey! how was your weekend lol"}]}')
    response = httpx.post(f"{url}/v1/chat/completions", content=raw.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 200
    row = decision(log_dir, response.headers["x-crossroute-request-id"])
    assert (row["user"], row["team"]) == ("bob\\ud800", "ops\\udfff")  # escaped, never dropped
    later = client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}])
    assert decision(log_dir, later.id)["status"] == "ok"  # the writer lives on
    metrics = httpx.get(f"{url}/metrics").text
    assert "crossroute_decision_log_failures 0.0" in metrics


def test_a_lone_surrogate_in_a_prompt_is_a_400_naming_the_field(server):
    url, _, _ = server
    raw = '{"model": "crossroute", "messages": [{"role": "user", "content": "hi \\ud800 there"}]}'
    response = httpx.post(f"{url}/v1/chat/completions", content=raw.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "messages"


def test_a_policy_file_cannot_switch_off_the_watcher(server, router):
    url, _, policy = server
    best, cheapest = router.route(MATHS, 0.0)[0].candidate, router.route(MATHS, 1.0)[0].candidate

    def ask():
        return client(url).chat.completions.create(model="crossroute", messages=[{"role": "user", "content": MATHS}]).model

    def errors():
        return httpx.get(f"{url}/admin/lambda-policy", headers=ADMIN).json()["errors"]

    before = len(errors())
    policy.write_text("lambda: 1" + "0" * 5000 + "\n")  # a number Python's int() refuses
    wait_for(lambda: len(errors()) > before, "the refusal of a 5,000-digit λ")
    assert "a number of 5001 digits" in errors()[-1] and ask() == best
    policy.unlink()
    os.mkfifo(policy)  # a FIFO would block whoever reads it
    wait_for(lambda: len(errors()) > before + 1, "the refusal of a FIFO")
    assert "not a regular" in errors()[-1]
    assert httpx.get(f"{url}/health").json()["status"] == "ok"
    policy.unlink()
    policy.write_text("lambda: 1\nlambda: 0\n")  # duplicate keys: refused, not last-wins
    wait_for(lambda: "duplicate key" in errors()[-1], "the refusal of a duplicate key")
    policy.write_text("lambda: 1\n")
    wait_for(lambda: ask() == cheapest, "a valid edit after the broken ones")
    policy.write_text("lambda: 0\n")
    wait_for(lambda: ask() == best, "the λ going back")


def test_the_admin_api_refuses_a_yaml_bomb_with_a_small_body_and_keeps_its_state_small(server):
    url, _, _ = server
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)) + "lambda: *j\n"
    started = time.perf_counter()
    refused = httpx.put(f"{url}/admin/lambda-policy", headers=ADMIN, content=bomb.encode())
    assert refused.status_code == 400 and len(refused.content) < 4000 and time.perf_counter() - started < 10
    assert "anchors" in refused.json()["error"]["message"]
    huge = httpx.put(f"{url}/admin/lambda-policy", headers=ADMIN, content=b"lambda: [" + b"0, " * 20000 + b"]")  # 60 kB: within the limit
    assert huge.status_code == 400 and len(huge.content) < 4000
    state = httpx.get(f"{url}/admin/lambda-policy", headers=ADMIN)
    assert state.status_code == 200 and len(state.content) < 20_000


def test_client_mistakes_are_4xx_openai_errors_before_any_model_is_called(server, upstream):
    url, _, _ = server
    fake = upstream[1]
    fake.reset()
    nested = '{"model": "crossroute", "messages": [{"role": "user", "content": "x"}], "x": ' + "[" * 1000 + "]" * 1000 + "}"
    cases = [(nested.encode(), 400, None),
             (json.dumps({"model": "crossroute", "temperature": "hot", "messages": [{"role": "user", "content": "x"}]}).encode(), 400, "temperature"),
             (json.dumps({"model": "crossroute", "max_tokens": -5, "messages": [{"role": "user", "content": "x"}]}).encode(), 400, "max_tokens"),
             (json.dumps({"model": "crossroute", "response_format": "json", "messages": [{"role": "user", "content": "x"}]}).encode(), 400, "response_format"),
             (json.dumps({"model": "crossroute", "messages": [{"role": "robot", "content": "x"}]}).encode(), 400, "messages")]
    for body, status, param in cases:
        started = time.perf_counter()
        response = httpx.post(f"{url}/v1/chat/completions", content=body, headers={"content-type": "application/json"}, timeout=30)
        error = response.json()["error"]
        assert response.status_code == status and error["type"] == "invalid_request_error", response.text
        assert param is None or error["param"] == param
        assert time.perf_counter() - started < 10
    assert fake.calls == []
    for method, path, status in (("GET", "/v1/nothing", 404), ("DELETE", "/v1/chat/completions", 405)):
        response = httpx.request(method, f"{url}{path}")
        assert response.status_code == status and response.json()["error"]["code"] in ("not_found", "method_not_allowed")


def test_a_client_that_leaves_mid_stream_is_recorded(server, upstream, router):
    url, log_dir, _ = server
    fake = upstream[1]
    chosen = router.route(CHAT, 1.0)[0].candidate
    fake.set(chosen, "slow")
    rows_before = len(decisions(log_dir))
    with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=30, json={
            "model": "crossroute-1", "stream": True, "messages": [{"role": "user", "content": CHAT}]}) as response:
        request_id = response.headers["x-crossroute-request-id"]
        for line in response.iter_lines():
            if line.startswith("data: {"):
                break  # the first chunk of the answer, then the client goes away
    fake.reset()
    row = decision(log_dir, request_id)
    assert row["status"] == "cancelled" and row["model"] == chosen and row["cost_usd"] > 0
    assert len(decisions(log_dir, at_least=rows_before + 1)) >= rows_before + 1


def test_a_client_that_trickles_its_headers_or_body_is_cut_off(server):
    url, _, _ = server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as slow:
        slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        slow.settimeout(60)
        closed = False
        while time.monotonic() - started < 30:
            try:
                slow.sendall(b"X-Slow: 1\r\n")  # a header line now and then, never the end of the headers
                if slow.recv(1024, socket.MSG_DONTWAIT) == b"":
                    closed = True
                    break
            except BlockingIOError:
                pass
            except OSError:
                closed = True
                break
            time.sleep(0.5)
    assert closed and time.monotonic() - started < 20  # cut off after the 2 s allowed, not held open
    with socket.create_connection((host, int(port))) as slow:
        slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"model\":")
        slow.settimeout(60)
        answer = b""
        while b"request_timeout" not in answer and (part := slow.recv(4096)):  # the body may come in a later segment
            answer += part
    assert b" 408 " in answer.split(b"\r\n")[0] and b"request_timeout" in answer


def test_a_request_every_model_refuses_as_invalid_is_a_400_and_one_model_refusing_falls_back(server, upstream, router):
    url, log_dir, _ = server
    _, fake = upstream
    try:
        for model in router.candidates:
            fake.set(model, "invalid")
        response = httpx.post(f"{url}/v1/chat/completions", json={
            "model": "crossroute-1", "messages": [{"role": "user", "content": CHAT}]})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "refused_by_every_model" and "Invalid value for 'temperature'" in error["message"]
        row = decision(log_dir, response.headers["x-crossroute-request-id"])
        assert row["status"] == "error" and len(json.loads(row["called"])) == len(router.candidates)
        # One model refusing is that model's problem: the next one answers.
        cheapest = router.route(CHAT, 1.0)[0].candidate
        for model in router.candidates:
            fake.set(model, "invalid" if model == cheapest else "ok")
        answer = client(url).chat.completions.create(model="crossroute-1", messages=[{"role": "user", "content": CHAT}])
        assert answer.model != cheapest
        assert json.loads(decision(log_dir, answer.id)["called"])[0] == cheapest
    finally:
        for model in router.candidates:
            fake.set(model, "ok")
