"""CrossRoute inside LiteLLM, for teams that already run it.

SDK: `CrossRouteStrategy` picks, per request, one deployment of a model group (`litellm.Router.register_plugin`, or
the older `set_custom_routing_strategy`), from synchronous or asynchronous code. Proxy: `CrossRouteHook` is a
CustomLogger the proxy loads from its config.yaml (`litellm_settings: callbacks: ...`, written by
`crossroute litellm-config`); its `async_pre_call_hook` rewrites a request for `crossroute`, `crossroute-0.3`, ... to
the model the router chooses. Both write the server's decision log (the decision; the call's outcome is LiteLLM's).

Routing runs on one event loop of its own, on a thread, whichever loop (or none) the caller runs: the decider batches
requests on a loop, and LiteLLM calls a strategy from its own loop, from a thread, or synchronously.
"""
from __future__ import annotations

import asyncio
import os
import threading
import uuid
import warnings

from litellm.integrations.custom_logger import CustomLogger  # noqa: E402
from litellm.types.router import CustomRoutingStrategyBase  # noqa: E402

from router_core.data.messages import conversation as read_conversation  # noqa: E402
from router_core.decisionlog.store import DecisionLog  # noqa: E402
from router_core.live.serving import UPDATE_SECONDS, LivePolicy  # noqa: E402
from router_core.serve.names import ROUTER_MODEL, Ask, RequestError, parse_ask  # noqa: E402
from router_core.serve.service import RoutingService, ServerOptions  # noqa: E402
from router_core.serve.tokens import prompt_tokens  # noqa: E402


def _load(router):
    if isinstance(router, (str, os.PathLike)):
        from router_core.router import Router

        return Router.load(router)
    return router


def _candidate_of(deployment: dict, router) -> str | None:
    """Which router model a deployment serves: model_info.crossroute_model, else the catalog's provider_model_id."""
    info = deployment.get("model_info") or {}
    if info.get("crossroute_model") in router.candidates:
        return info["crossroute_model"]
    model = (deployment.get("litellm_params") or {}).get("model")
    catalog = router.catalog
    if catalog is not None:
        return next((c.name for c in catalog.candidates if c.provider_model_id == model), None)
    return model if model in router.candidates else None


class _Routing:
    """What both integrations share: the routing service (router, λ policy, decider, decision log)."""

    def __init__(self, router, lam: float, log_dir, timeout: float, log_prompts: bool, lambda_policy=None,
                 budget_update_seconds: float = UPDATE_SECONDS):
        from router_core.live.policy import LambdaPolicy, load_policy

        router = _load(router)
        if log_dir == "auto":  # the default: the user's data folder (decisionlog.store.default_log_dir)
            from router_core.decisionlog.store import default_log_dir

            log_dir = default_log_dir()
        options = ServerOptions(lam=lam, routing_timeout=timeout, log_prompts=log_prompts)
        policy = load_policy(lambda_policy) if lambda_policy is not None else LambdaPolicy(lam=options.lam)
        live = LivePolicy(router, policy, lambda_policy, log_dir, budget_update_seconds)
        self.service = RoutingService(router, live, options, DecisionLog(log_dir) if log_dir is not None else None)
        self.router, self.fallback = router, self.service.fallback_order
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="crossroute-routing", daemon=True).start()

    async def _choose(self, messages, ask: Ask, user, team, tools) -> str:
        conversation = read_conversation(messages, tools)
        self.service.poll()
        routed = await self.service.route(conversation, ask, f"crossroute-{uuid.uuid4().hex}", user, team,
                                          prompt_tokens=prompt_tokens(messages, tools), wants_tools=bool(tools))
        model = routed.chosen[0]
        self.service.handed_over(routed, model)
        return model

    def _submit(self, messages, lam, user, team, tools, ask: Ask | None):
        ask = ask or Ask(lam, 1, "request" if lam is not None else "server")
        return asyncio.run_coroutine_threadsafe(self._choose(messages, ask, user, team, tools), self._loop)

    async def choose(self, messages, lam: float | None = None, user=None, team=None, tools=None,
                     ask: Ask | None = None) -> str:
        """The model for this request (the fallback order's first when scoring fails or is late); logs the decision.
        λ: the request's (`lam`, or `ask` parsed from a model name), else the λ policy's (a watched file, as the
        server's)."""
        return await asyncio.wrap_future(self._submit(messages, lam, user, team, tools, ask))

    def choose_now(self, messages, lam: float | None = None, user=None, team=None, tools=None) -> str:
        """`choose` for synchronous callers, in or outside a running event loop (it blocks this thread only)."""
        return self._submit(messages, lam, user, team, tools, None).result()


class CrossRouteStrategy(CustomRoutingStrategyBase):
    """LiteLLM SDK routing strategy over the deployments of one model group, one deployment per router model.

    Args:
        llm_router: the litellm.Router whose model group this strategy serves.
        router: a CrossRoute Router, or its artifact folder.
        lam: λ of every request (a request's `metadata: {"crossroute_lambda": 0.3}` overrides it), unless
            `lambda_policy` names a policy file (watched, as the server's).
    """

    def __init__(self, llm_router, router, lam: float = 0.2, log_dir="auto", timeout: float = 0.1,
                 log_prompts: bool = False, lambda_policy=None, budget_update_seconds: float = UPDATE_SECONDS):
        self.llm_router = llm_router
        self.routing = _Routing(router, lam, log_dir, timeout, log_prompts, lambda_policy, budget_update_seconds)

    def install(self) -> "CrossRouteStrategy":
        """Register with the litellm.Router (register_plugin where it exists, else set_custom_routing_strategy)."""
        register = getattr(self.llm_router, "register_plugin", None) or self.llm_router.set_custom_routing_strategy
        register(self)
        return self

    def _deployments(self, model: str) -> list[dict]:
        with warnings.catch_warnings():  # model_list is the documented view of the deployments, deprecated or not
            warnings.simplefilter("ignore", DeprecationWarning)
            return [d for d in self.llm_router.model_list if d.get("model_name") == model]

    def _request(self, model, messages, request_kwargs):
        """(deployments by router model, the request's arguments to choose) or None when there is nothing to route."""
        deployments = self._deployments(model)
        served = {_candidate_of(d, self.routing.router): d for d in deployments}
        served.pop(None, None)
        if not messages or not served:
            return None, deployments
        metadata = (request_kwargs or {}).get("metadata") or {}
        lam = metadata.get("crossroute_lambda")
        arguments = dict(messages=messages, lam=float(lam) if lam is not None else None,
                         user=(request_kwargs or {}).get("user"), team=metadata.get("team"),
                         tools=(request_kwargs or {}).get("tools"))
        return served, arguments

    def _pick(self, served: dict, chosen: str) -> dict:
        return served.get(chosen) or next(served[m] for m in self.routing.fallback if m in served)

    async def async_get_available_deployment(self, model, messages=None, input=None, specific_deployment=False,
                                             request_kwargs=None):
        served, arguments = self._request(model, messages, request_kwargs)
        if served is None:
            return arguments[0] if arguments else None
        return self._pick(served, await self.routing.choose(**arguments))

    def get_available_deployment(self, model, messages=None, input=None, specific_deployment=False, request_kwargs=None):
        served, arguments = self._request(model, messages, request_kwargs)
        if served is None:
            return arguments[0] if arguments else None
        return self._pick(served, self.routing.choose_now(**arguments))


class CrossRouteHook(CustomLogger):
    """LiteLLM proxy callback: a request for `crossroute[-λ]` goes to the model the router chooses.

    The chosen router model must be a `model_name` of the proxy's model_list (or mapped to one with `model_names`).
    In the proxy's folder, a file such as crossroute_callback.py holds
        from router_core.serve.litellm_hooks import CrossRouteHook
        proxy_handler_instance = CrossRouteHook("path/to/router", lam=0.2)
    and config.yaml names it: `litellm_settings: {callbacks: crossroute_callback.proxy_handler_instance}`.
    """

    def __init__(self, router, lam: float = 0.2, log_dir="auto", timeout: float = 0.1,
                 log_prompts: bool = False, model_names: dict[str, str] | None = None, lambda_policy=None,
                 budget_update_seconds: float = UPDATE_SECONDS):
        super().__init__()
        self.routing = _Routing(router, lam, log_dir, timeout, log_prompts, lambda_policy, budget_update_seconds)
        self.model_names = model_names or {}

    async def _rewrite(self, model, messages, request: dict) -> str | None:
        if not isinstance(model, str) or not model.startswith(ROUTER_MODEL):
            return None  # not a CrossRoute model name: the proxy routes it as usual
        try:
            ask = parse_ask(model, request.get("crossroute"), len(self.routing.router.candidates),
                            list(self.routing.router.candidates))
        except RequestError as e:
            raise _refused(str(e)) from None
        if ask.top_k > 1:
            raise _refused(f"{model}: soft routing (top_k > 1) calls several models and an aggregator, which one proxy "
                           "call cannot carry; ask for a hard-routed name such as 'crossroute-0.3', or use "
                           "`crossroute serve` for soft routing")
        metadata = request.get("metadata") or {}
        try:
            chosen = await self.routing.choose(messages, user=request.get("user"), team=metadata.get("team"),
                                               tools=request.get("tools"), ask=ask)
        except RequestError as e:  # the request's own limits leave no model
            raise _refused(str(e)) from None
        return self.model_names.get(chosen, chosen)

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        """The proxy's hook before a call: returns the request with its model rewritten (others unchanged).
        A malformed CrossRoute name, λ outside [0, 1] or k > 1 is refused with a 400 naming the fault."""
        rewritten = await self._rewrite(data.get("model"), data.get("messages"), data)
        if rewritten is not None:
            data["model"] = rewritten
            data.pop("crossroute", None)
        return data


def _refused(message: str):
    """The proxy answers an HTTPException raised in a pre-call hook with its status and an OpenAI-style error."""
    from fastapi import HTTPException

    return HTTPException(status_code=400, detail={"error": message})
