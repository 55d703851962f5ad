"""Starting the server (what `python -m router_core serve` does) and summarising its decision log."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from router_core.errors import RouterInputError

log = logging.getLogger("crossroute.serve")


def build_app(router, models: str | Path | None = None, demo: bool = False, log_dir: str | Path | None = None,
              options=None, fallback: list[str] | None = None, upstream_timeout: float = 60.0, num_retries: int = 2,
              demo_latency: float = 0.05, lambda_policy: str | Path | None = None, shadow: str | Path | None = None,
              judge: tuple[str, float, float] | None = None):
    """The FastAPI app for `router` over the deployments of `models` (a LiteLLM config.yaml), or mock answers with
    `demo`; λ from the `lambda_policy` file (watched) or the constant options.lam. Raises RouterInputError for a
    missing or unusable config or policy file before anything listens. `shadow`: a candidate router's folder, decided
    beside the router on every request and logged, never acted on. `judge`: (model, rate, daily budget in USD)."""
    from router_core.decisionlog.store import DecisionLog
    from router_core.live.policy import LambdaPolicy, load_policy
    from router_core.live.serving import LivePolicy
    from router_core.serve.app import create_app
    from router_core.serve.capabilities import capabilities
    from router_core.serve.deployments import demo_deployments, load_deployments, missing_credentials
    from router_core.serve.fallback import checked_order, default_fallback_order
    from router_core.serve.service import RoutingService, ServerOptions
    from router_core.serve.upstream import Upstream

    router.scores(["a first query, scored before the server listens"])  # a damaged export stops serve here, not later
    if models is None and not demo:
        raise RouterInputError("serve: give --models config.yaml (a LiteLLM model_list), or --demo for mock answers")
    deployments = (demo_deployments(router.candidates, router.catalog) if models is None
                   else load_deployments(models, router.candidates, router.catalog))
    if models is not None:
        missing_credentials(deployments, str(models))
    for line in deployments.ignored:
        log.warning("model_list entry ignored: %s", line)
    order = default_fallback_order(router)
    if fallback:
        first = checked_order(fallback, router.candidates)
        order = first + [m for m in order if m not in first]
    upstream = Upstream(deployments, router.catalog, order, demo=demo and models is None, timeout=upstream_timeout,
                        num_retries=num_retries, demo_latency=demo_latency)
    options = options or ServerOptions()
    if fallback:
        options = dataclasses.replace(options, fallback=tuple(order))
    decisions = DecisionLog(log_dir) if log_dir is not None else None
    policy = load_policy(lambda_policy) if lambda_policy is not None else LambdaPolicy(lam=options.lam)
    live = LivePolicy(router, policy, lambda_policy, log_dir)
    able = {} if models is None else capabilities(deployments.model_list, router.catalog)
    candidate = None
    if shadow is not None:
        from router_core.router import Router
        from router_core.serve.shadow import Shadow

        candidate = Router.load(shadow)
        if sorted(candidate.candidates) != sorted(router.candidates):
            raise RouterInputError(f"--shadow {shadow}: routes over {', '.join(candidate.candidates)}, the router over "
                                   f"{', '.join(router.candidates)}; a router in shadow must have the same models")
        candidate.scores(["a first query, scored before the server listens"])
        candidate = Shadow(candidate, str(shadow))
    grader = None
    if judge is not None:
        import numpy as np

        from router_core.serve.judge import Judge

        model, rate, budget = judge
        if model not in router.candidates or router.catalog is None:
            raise RouterInputError(f"--judge {model}: the judge must be one of the router's models, whose deployment and "
                                   f"price are known ({', '.join(router.candidates)})")
        if decisions is None:
            raise RouterInputError("--judge stores its scores as feedback in the decision log: give --log")
        if not (0 < rate <= 1 and budget >= 0):
            raise RouterInputError(f"--judge-rate must be in (0, 1] and --judge-budget-usd at least 0, got {rate:g} and {budget:g}")
        grader = Judge(model, rate, budget, router.catalog, decisions.path, np.random.default_rng(options.seed),
                       demo=demo and models is None)
    return create_app(RoutingService(router, live, options, decisions, order, able, candidate, grader), upstream)
