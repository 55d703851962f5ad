"""CrossRoute inside LiteLLM: the SDK routing strategy picks a deployment of a model group, the proxy hook rewrites a
request's model; both log their decisions. Upstreams are LiteLLM mock responses (no key, no network). The LiteLLM proxy
package itself is not installable here, so the hook is called the way the proxy calls it, with the proxy's own types."""
import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from router_core import Router

ROOT = Path(__file__).resolve().parent.parent
MATHS = "Prove that the square root of 2 is irrational, step by step"


@pytest.fixture(scope="module")
def router():
    return Router.load(ROOT / "sample_data" / "router")


ROUTING_LIMIT_S = 30.0  # a busy test machine must not turn a routing test into a fallback test


def logged(log_dir: Path, at_least: int) -> list[tuple]:
    """The log's rows once it holds `at_least` (the writer commits in the background)."""
    deadline = time.monotonic() + 60
    while True:
        connection = sqlite3.connect(log_dir / "decisions.sqlite")
        rows = connection.execute("SELECT model, lam, lam_source, status, routing_ms FROM decisions ORDER BY id").fetchall()
        connection.close()
        if len(rows) >= at_least:
            return rows
        assert time.monotonic() < deadline, f"{len(rows)} rows logged after 60 s, expected {at_least}"
        time.sleep(0.05)


def test_sdk_strategy_picks_the_deployment_of_the_model_the_router_chooses(router, tmp_path):
    import litellm

    from router_core.serve.litellm_hooks import CrossRouteStrategy

    group = [{"model_name": "crossroute", "litellm_params": {"model": c.provider_model_id, "mock_response": f"from {c.name}"}}
             for c in router.catalog.candidates]
    llm = litellm.Router(model_list=group)
    CrossRouteStrategy(llm, router, lam=0.0, log_dir=tmp_path, timeout=ROUTING_LIMIT_S).install()

    async def ask(metadata=None):
        response = await llm.acompletion(model="crossroute", messages=[{"role": "user", "content": MATHS}],
                                         metadata=metadata or {})
        return response.choices[0].message.content

    best, cheapest = router.route(MATHS, 0.0)[0].candidate, router.route(MATHS, 1.0)[0].candidate
    assert best != cheapest
    assert asyncio.run(ask()) == f"from {best}"
    assert asyncio.run(ask({"crossroute_lambda": 1.0})) == f"from {cheapest}"
    rows = logged(tmp_path, 2)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [(best, 0.0, "fixed", "routed"), (cheapest, 1.0, "request", "routed")]


def test_proxy_hook_rewrites_crossroute_requests_and_leaves_others_alone(router, tmp_path):
    import litellm
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth

    from router_core.serve.litellm_hooks import CrossRouteHook

    hook = CrossRouteHook(router, lam=0.2, log_dir=tmp_path, timeout=ROUTING_LIMIT_S)
    cheapest = router.route(MATHS, 1.0)[0].candidate
    data = {"model": "crossroute-1", "messages": [{"role": "user", "content": MATHS}], "user": "ana"}
    rewritten = asyncio.run(hook.async_pre_call_hook(UserAPIKeyAuth(), DualCache(), data, "completion"))
    assert rewritten["model"] == cheapest
    other = {"model": "gpt-4o", "messages": [{"role": "user", "content": MATHS}]}
    assert asyncio.run(hook.async_pre_call_hook(UserAPIKeyAuth(), DualCache(), dict(other), "completion")) == other

    # the proxy then serves the rewritten request from its model_list, where the router's models are model_names
    proxy_models = [{"model_name": c.name, "litellm_params": {"model": c.provider_model_id, "mock_response": f"from {c.name}"}}
                    for c in router.catalog.candidates]
    answer = asyncio.run(litellm.Router(model_list=proxy_models).acompletion(**rewritten))
    assert answer.choices[0].message.content == f"from {cheapest}"

    best = asyncio.run(hook.async_pre_call_hook(UserAPIKeyAuth(), DualCache(), {"model": "crossroute-0", "messages": [
        {"role": "user", "content": MATHS}]}, "completion"))["model"]
    assert best == router.route(MATHS, 0.0)[0].candidate
    rows = logged(tmp_path, 2)
    assert [r[0] for r in rows] == [cheapest, best] and all(r[3] == "routed" and r[4] >= 0 for r in rows)


def test_the_proxy_hook_refuses_soft_routing_and_bad_names_with_a_400_and_logs_nothing(router, tmp_path):
    from fastapi import HTTPException
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth

    from router_core.serve.litellm_hooks import CrossRouteHook

    hook = CrossRouteHook(router, log_dir=tmp_path, timeout=ROUTING_LIMIT_S)
    cases = {"crossroute-0.3-k2": "soft routing (top_k > 1)", "crossroute-7": "λ must be in [0, 1]", "crossroute-fast": "does not exist on this router",
             "crossroute-0.3-k9": "top_k must be a whole number"}
    for name, message in cases.items():
        data = {"model": name, "messages": [{"role": "user", "content": MATHS}]}
        with pytest.raises(HTTPException) as refused:
            asyncio.run(hook.async_pre_call_hook(UserAPIKeyAuth(), DualCache(), data, "completion"))
        assert refused.value.status_code == 400 and message in refused.value.detail["error"], name
    assert not (tmp_path / "decisions.sqlite").exists() or logged(tmp_path, 0) == []


def test_the_sdk_strategy_routes_from_synchronous_code_inside_a_running_event_loop(router, tmp_path):
    import litellm

    from router_core.serve.litellm_hooks import CrossRouteStrategy

    group = [{"model_name": "crossroute", "litellm_params": {"model": c.provider_model_id, "mock_response": f"from {c.name}"}}
             for c in router.catalog.candidates]
    llm = litellm.Router(model_list=group)
    CrossRouteStrategy(llm, router, lam=1.0, log_dir=tmp_path, timeout=ROUTING_LIMIT_S).install()
    cheapest = router.route(MATHS, 1.0)[0].candidate
    messages = [{"role": "user", "content": MATHS}]

    async def inside_a_loop():  # a synchronous call made by code that runs in an event loop (a notebook, a web app)
        return llm.completion(model="crossroute", messages=messages).choices[0].message.content

    assert asyncio.run(inside_a_loop()) == f"from {cheapest}"
    assert llm.completion(model="crossroute", messages=messages).choices[0].message.content == f"from {cheapest}"
    assert [r[0] for r in logged(tmp_path, 2)] == [cheapest, cheapest]


def test_the_proxy_hook_follows_a_watched_lambda_policy_file(router, tmp_path):
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth

    from router_core.serve.litellm_hooks import CrossRouteHook

    policy = tmp_path / "policy.yaml"
    policy.write_text("lambda: 0\n")
    hook = CrossRouteHook(router, log_dir=tmp_path, lambda_policy=policy, timeout=ROUTING_LIMIT_S)

    asked = []

    def chosen():
        asked.append(1)
        data = {"model": "crossroute", "messages": [{"role": "user", "content": MATHS}]}
        return asyncio.run(hook.async_pre_call_hook(UserAPIKeyAuth(), DualCache(), data, "completion"))["model"]

    assert chosen() == router.route(MATHS, 0.0)[0].candidate
    policy.write_text("lambda: 1\n")
    deadline = time.monotonic() + 30  # the file is looked at no more than twice a second
    while chosen() != router.route(MATHS, 1.0)[0].candidate:
        assert time.monotonic() < deadline, "the edited policy file did not take effect within 30 s"
        time.sleep(0.1)
    assert logged(tmp_path, len(asked))[-1][1:3] == (1.0, "fixed")


def test_requests_routed_through_the_proxy_hook_charge_a_budget_and_lambda_rises(router, tmp_path):
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth

    from router_core.serve.litellm_hooks import CrossRouteHook

    policy = tmp_path / "policy.yaml"
    prompts = [f"{MATHS} (variant {i})" for i in range(100)]
    at_best = sum(router.route(p, 0.0)[0].predicted_cost_usd for p in prompts)
    budget = round(at_best / 3, 6)  # a third of what these requests cost at λ = 0
    policy.write_text(f"budget: {{daily_usd: {budget}, smoothing: 1}}\n")
    hook = CrossRouteHook(router, log_dir=tmp_path, lambda_policy=policy, timeout=ROUTING_LIMIT_S, budget_update_seconds=0.2)
    live = hook.routing.service.live
    assert live.lam() == (0.0, "budget")  # nothing spent yet: the most quality the budget allows

    async def route(prompt):
        data = {"model": "crossroute", "messages": [{"role": "user", "content": prompt}]}
        await hook.async_pre_call_hook(UserAPIKeyAuth(), DualCache(), data, "completion")

    async def route_until_lambda_rises() -> int:
        sent, deadline = 0, time.monotonic() + 60
        while sent < len(prompts) or live.lam()[0] == 0.0:  # the controller moves λ every 0.2 s, whatever the pace
            await route(prompts[sent % len(prompts)])
            sent += 1
            assert time.monotonic() < deadline, f"λ still 0 after {sent} requests and 60 s"
            await asyncio.sleep(0.005)
        await route(prompts[0])  # one more, routed at the raised λ
        return sent + 1

    sent = asyncio.run(route_until_lambda_rises())
    rows = logged(tmp_path, sent)
    assert {r[3] for r in rows} == {"routed"} and {r[2] for r in rows} == {"budget"}
    connection = sqlite3.connect(tmp_path / "decisions.sqlite")
    charged = connection.execute("SELECT SUM(predicted_cost_usd), MAX(lam) FROM decisions").fetchone()
    connection.close()
    deadline = time.monotonic() + 30
    while live.controller.spent < charged[0] * (1 - 1e-9):  # the controller reads the routed rows at each update
        assert time.monotonic() < deadline, f"${live.controller.spent} charged after 30 s, ${charged[0]} logged"
        time.sleep(0.25)
        hook.routing.service.poll()
    assert live.controller.spent == pytest.approx(charged[0], rel=1e-6)  # each routed row once, at its predicted cost
    assert charged[1] > 0.0  # λ rose while the requests were still arriving
    assert live.lam()[0] == 1.0  # overspent: the ceiling
