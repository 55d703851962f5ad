"""CrossRoute inside the real LiteLLM proxy: `crossroute litellm-config` writes the config and callback, `litellm
--config` (the proxy app from requirements-proxy.txt) runs as a subprocess on 127.0.0.1 in front of the fake
upstream, and the official openai client calls it with the proxy's master key."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from fake_upstream import fake_upstream
from serve_support import CHAT, MATHS, ROOT, SAMPLE_ROUTER, decisions, free_port, models_yaml

from router_core import Router

MASTER_KEY = "sk-test-master"
BUDGET_USD = 0.0002  # a few requests overspend it, so the controller moves λ while the test runs


@pytest.fixture(scope="module")
def router():
    return Router.load(SAMPLE_ROUTER)


@pytest.fixture(scope="module")
def proxy(router, tmp_path_factory):
    """(client, fake upstream, decision-log folder) for a LiteLLM proxy started from the written config."""
    folder = tmp_path_factory.mktemp("proxy")
    log_dir = folder / "decisions"
    policy = folder / "policy.yaml"
    policy.write_text(f"budget: {{daily_usd: {BUDGET_USD}, smoothing: 1}}\n")
    with fake_upstream() as (base_url, fake):
        models = models_yaml(folder / "models.yaml", base_url, router)
        written = subprocess.run([sys.executable, "-m", "router_core", "litellm-config", "--router", str(SAMPLE_ROUTER),
                                  "--models", str(models), "--out", str(folder / "proxy"), "--log", str(log_dir),
                                  "--lambda-policy", str(policy), "--routing-timeout-ms", "30000",
                                  "--budget-update-seconds", "1"], cwd=ROOT, capture_output=True, text=True)
        assert written.returncode == 0, written.stderr
        port = free_port()
        env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "FAKE_KEY": "sk-fake", "HF_HUB_OFFLINE": "1",
               "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        litellm_cli = Path(sys.executable).parent / "litellm"
        with open(folder / "proxy.log", "wb") as out:
            process = subprocess.Popen([str(litellm_cli), "--config", str(folder / "proxy" / "config.yaml"), "--host",
                                        "127.0.0.1", "--port", str(port)], cwd=folder, env=env, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 240
            while True:
                assert process.poll() is None, f"the proxy exited: {(folder / 'proxy.log').read_text()[-3000:]}"
                try:
                    if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"the proxy did not start: {(folder / 'proxy.log').read_text()[-3000:]}"
                time.sleep(0.5)
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=120)
            yield client, fake, log_dir
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def ask(client, model: str, text: str = MATHS) -> str:
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}]).choices[0].message.content


def test_lambda_zero_and_one_call_different_models_and_one_the_cheapest(proxy, router):
    client, fake, log_dir = proxy
    before = len(decisions(log_dir, 0))
    best, cheapest = router.route(MATHS, 0.0)[0].candidate, router.route(MATHS, 1.0)[0].candidate
    priced = {c.name: c.input_usd_per_1m + c.output_usd_per_1m for c in router.catalog.candidates}
    assert best != cheapest and cheapest == min(priced, key=priced.get)
    assert ask(client, "crossroute-0") == f"answer from {best}"
    assert ask(client, "crossroute-1") == f"answer from {cheapest}"
    rows = decisions(log_dir, before + 2)[before:]
    assert [(r["model"], r["lam"], r["lam_source"], r["status"]) for r in rows] == [
        (best, 0.0, "request", "routed"), (cheapest, 1.0, "request", "routed")]


def test_a_stream_is_relayed_whole_and_logged(proxy, router):
    client, fake, log_dir = proxy
    before = len(decisions(log_dir, 0))
    cheapest = router.route(CHAT, 1.0)[0].candidate
    stream = client.chat.completions.create(model="crossroute-1", stream=True, messages=[{"role": "user", "content": CHAT}])
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text.strip() == f"answer from {cheapest}"  # the fake streams word by word, each with its space
    assert decisions(log_dir, before + 1)[before]["model"] == cheapest


def test_other_models_pass_through_unrouted_and_soft_routing_is_refused(proxy, router):
    client, fake, log_dir = proxy
    before = len(decisions(log_dir, 0))
    assert ask(client, "gpt-4o-mini") == "answer from gpt-4o-mini"  # a plain model name: the proxy's own routing
    with pytest.raises(openai.BadRequestError) as refused:
        ask(client, "crossroute-0.3-k2")
    assert "soft routing (top_k > 1)" in str(refused.value)
    with pytest.raises(openai.BadRequestError) as refused:
        ask(client, "crossroute-1.5")
    assert "λ must be in [0, 1]" in str(refused.value)
    ask(client, "crossroute-1")  # a marker: the next row is this request's, so neither refusal nor pass-through logged
    assert len(decisions(log_dir, before + 1)) == before + 1


def test_an_upstream_failure_takes_litellms_fallbacks_along_the_routers_order(proxy, router):
    client, fake, log_dir = proxy
    before = len(decisions(log_dir, 0))
    cheapest = router.route(MATHS, 1.0)[0].candidate
    from router_core.serve.fallback import default_fallback_order

    next_best = [m for m in default_fallback_order(router) if m != cheapest][0]
    fake.set(cheapest, "fail")
    try:
        assert ask(client, "crossroute-1") == f"answer from {next_best}"
    finally:
        fake.set(cheapest, "ok")
    assert fake.calls_to(cheapest) >= 1  # tried first, as routed
    assert decisions(log_dir, before + 1)[before]["model"] == cheapest


def test_proxy_traffic_is_charged_to_the_budget_and_lambda_rises(proxy, router):
    client, fake, log_dir = proxy
    before = len(decisions(log_dir, 0))
    deadline = time.monotonic() + 180
    while True:  # the budget policy sets λ of `crossroute`; overspent, the controller raises it at its next update
        ask(client, "crossroute", f"{MATHS} (request {time.monotonic()})")
        rows = decisions(log_dir, before + 1)[before:]
        assert {r["lam_source"] for r in rows} == {"budget"}
        if rows[-1]["lam"] > 0:
            break
        assert time.monotonic() < deadline, f"λ still {rows[-1]['lam']} after {len(rows)} requests and 180 s"
    spent = sum(r["predicted_cost_usd"] or 0 for r in decisions(log_dir, 0))
    assert spent > BUDGET_USD  # what moved λ is the proxy's own routed traffic
