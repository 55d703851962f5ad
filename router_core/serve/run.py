"""Starting the server (what `python -m router_core serve` does) and summarising its decision log."""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pandas as pd

from ..errors import RouterInputError

log = logging.getLogger("crossroute.serve")
DEFAULT_LOG_DIR = "crossroute-decisions"


def build_app(router, models: str | Path | None = None, demo: bool = False, log_dir: str | Path | None = DEFAULT_LOG_DIR,
              options=None, fallback: list[str] | None = None, upstream_timeout: float = 60.0, num_retries: int = 2,
              demo_latency: float = 0.05, lambda_policy: str | Path | None = None):
    """The FastAPI app for `router` over the deployments of `models` (a LiteLLM config.yaml), or mock answers with
    `demo`; λ from the `lambda_policy` file (watched) or the constant options.lam. Raises RouterInputError for a
    missing or unusable config or policy file before anything listens."""
    from ..lambda_policy import LambdaPolicy, load_policy
    from .app import ServerOptions, create_app
    from .live_policy import LivePolicy
    from .decision_log import DecisionLog
    from .deployments import demo_deployments, load_deployments
    from .fallback import checked_order, default_fallback_order
    from .upstream import Upstream

    if models is None and not demo:
        raise RouterInputError("serve: give --models config.yaml (a LiteLLM model_list), or --demo for mock answers")
    deployments = (demo_deployments(router.candidates, router.catalog) if models is None
                   else load_deployments(models, router.candidates, router.catalog))
    for line in deployments.ignored:
        log.warning("model_list entry ignored: %s", line)
    order = default_fallback_order(router)
    if fallback:
        first = checked_order(fallback, router.candidates)
        order = first + [m for m in order if m not in first]
    upstream = Upstream(deployments, router.catalog, order, demo=demo and models is None, timeout=upstream_timeout,
                        num_retries=num_retries, demo_latency=demo_latency)
    options = options or ServerOptions()
    decisions = DecisionLog(log_dir) if log_dir is not None else None
    policy = load_policy(lambda_policy) if lambda_policy is not None else LambdaPolicy(lam=options.lam)
    live = LivePolicy(router, policy, lambda_policy, log_dir)
    return create_app(router, upstream, decisions, options, live)


_SINCE = re.compile(r"^(?P<n>[0-9]+(?:\.[0-9]+)?)(?P<unit>[smhd])$")


def since_seconds(text: str) -> float:
    """'30m', '1h', '7d' -> seconds."""
    match = _SINCE.match(text.strip())
    if match is None:
        raise RouterInputError(f"--since: expected a duration such as 30m, 1h or 7d, got {text!r}")
    return float(match["n"]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match["unit"]]


def summarise(frame: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """Headline lines and a per-model table of a decision log's rows (all measured, from the log)."""
    if frame.empty:
        return ["no decisions in this period"], pd.DataFrame()
    ok = frame[frame.status == "ok"]
    lines = [f"{len(frame):,} requests from {pd.to_datetime(frame.ts.min(), unit='s', utc=True):%Y-%m-%d %H:%M} to "
             f"{pd.to_datetime(frame.ts.max(), unit='s', utc=True):%Y-%m-%d %H:%M} UTC; {len(frame) - len(ok)} failed "
             f"(every model failed); {int(ok.fallback_reason.notna().sum())} answered by a fallback",
             f"measured spend ${ok.cost_usd.sum():.4f} (predicted ${ok.predicted_cost_usd.sum():.4f}); mean λ {frame.lam.mean():.2f}",
             f"routing latency p50 {ok.routing_ms.median():.1f} ms, p99 {ok.routing_ms.quantile(0.99):.1f} ms"]
    table = ok.groupby("model").agg(requests=("request_id", "size"), share=("request_id", lambda s: len(s) / len(ok)),
                                    cost_usd=("cost_usd", "sum"), input_tokens=("input_tokens", "sum"),
                                    output_tokens=("output_tokens", "sum")).sort_values("requests", ascending=False)
    return lines, table


def read_since(folder: str | Path, since: str | None) -> pd.DataFrame:
    from .decision_log import read_decisions

    return read_decisions(folder, time.time() - since_seconds(since) if since else None)
