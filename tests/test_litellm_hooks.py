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


def logged(log_dir: Path) -> list[tuple]:
    time.sleep(0.3)  # the writer commits every 50 ms
    connection = sqlite3.connect(log_dir / "decisions.sqlite")
    rows = connection.execute("SELECT model, lam, lam_source, status, routing_ms FROM decisions ORDER BY id").fetchall()
    connection.close()
    return rows


def test_sdk_strategy_picks_the_deployment_of_the_model_the_router_chooses(router, tmp_path):
    import litellm

    from router_core.serve.litellm_hooks import CrossRouteStrategy

    group = [{"model_name": "crossroute", "litellm_params": {"model": c.provider_model_id, "mock_response": f"from {c.name}"}}
             for c in router.catalog.candidates]
    llm = litellm.Router(model_list=group)
    CrossRouteStrategy(llm, router, lam=0.0, log_dir=tmp_path).install()

    async def ask(metadata=None):
        response = await llm.acompletion(model="crossroute", messages=[{"role": "user", "content": MATHS}],
                                         metadata=metadata or {})
        return response.choices[0].message.content

    best, cheapest = router.route(MATHS, 0.0)[0].candidate, router.route(MATHS, 1.0)[0].candidate
    assert best != cheapest
    assert asyncio.run(ask()) == f"from {best}"
    assert asyncio.run(ask({"crossroute_lambda": 1.0})) == f"from {cheapest}"
    rows = logged(tmp_path)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [(best, 0.0, "fixed", "routed"), (cheapest, 1.0, "request", "routed")]


def test_proxy_hook_rewrites_crossroute_requests_and_leaves_others_alone(router, tmp_path):
    import litellm
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth

    from router_core.serve.litellm_hooks import CrossRouteHook

    hook = CrossRouteHook(router, lam=0.2, log_dir=tmp_path)
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

    routed = asyncio.run(hook.async_pre_routing_hook("crossroute-0", {}, messages=[{"role": "user", "content": MATHS}]))
    assert routed.model == router.route(MATHS, 0.0)[0].candidate
    rows = logged(tmp_path)
    assert [r[0] for r in rows] == [cheapest, routed.model] and all(r[3] == "routed" and r[4] >= 0 for r in rows)


def test_the_proxy_hook_follows_a_watched_lambda_policy_file(router, tmp_path):
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth

    from router_core.serve.litellm_hooks import CrossRouteHook

    policy = tmp_path / "policy.yaml"
    policy.write_text("lambda: 0\n")
    hook = CrossRouteHook(router, log_dir=tmp_path, lambda_policy=policy)

    def chosen():
        data = {"model": "crossroute", "messages": [{"role": "user", "content": MATHS}]}
        return asyncio.run(hook.async_pre_call_hook(UserAPIKeyAuth(), DualCache(), data, "completion"))["model"]

    assert chosen() == router.route(MATHS, 0.0)[0].candidate
    policy.write_text("lambda: 1\n")
    time.sleep(0.6)  # the file is looked at no more than twice a second
    assert chosen() == router.route(MATHS, 1.0)[0].candidate
    assert logged(tmp_path)[-1][1:3] == (1.0, "fixed")
