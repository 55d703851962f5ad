"""`crossroute litellm-config`: a LiteLLM proxy config (the user's model_list plus what CrossRoute needs) and the
callback module the proxy loads from the config's folder, so that `litellm --config DIR/config.yaml` routes the model
names `crossroute`, `crossroute-0.3`, ... with the router, logs its decisions and follows a λ policy file."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from router_core.errors import RouterInputError
from router_core.files import write_text_atomic
from router_core.serve.deployments import match_deployments, read_models
from router_core.serve.fallback import default_fallback_order

CALLBACK_MODULE = "crossroute_callback"
CALLBACK = f"{CALLBACK_MODULE}.proxy_handler_instance"
MASTER_KEY = "os.environ/LITELLM_MASTER_KEY"

CALLBACK_TEMPLATE = '''"""Written by `crossroute litellm-config`: the LiteLLM proxy loads it from config.yaml
(litellm_settings.callbacks). Regenerate it rather than edit it; CROSSROUTE_ROUTER and CROSSROUTE_DECISIONS override
the router folder and the decision log's folder."""
import os

from router_core.serve.litellm_hooks import CrossRouteHook

proxy_handler_instance = CrossRouteHook(
    os.environ.get("CROSSROUTE_ROUTER", {router!r}),
    lam={lam!r},
    log_dir=os.environ.get("CROSSROUTE_DECISIONS", {log_dir!r}),
    timeout={timeout!r},
    log_prompts={log_prompts!r},
    model_names={model_names!r},
    lambda_policy={lambda_policy!r},
    budget_update_seconds={budget_update_seconds!r},
)
'''


def _callbacks(settings: dict, source: str) -> list:
    present = settings.get("callbacks")
    if present is None:
        return [CALLBACK]
    present = [present] if isinstance(present, str) else present
    if not isinstance(present, list):
        raise RouterInputError(f"{source}: litellm_settings.callbacks must be a list, got {type(present).__name__}")
    return present if CALLBACK in present else [*present, CALLBACK]


def _section(config: dict, key: str, source: str) -> dict:
    value = config.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RouterInputError(f"{source}: {key} must be a mapping, got {type(value).__name__}")
    return value


def proxy_config(router, models: dict, source: str, callback_router: str | None = None) -> tuple[dict, dict[str, str]]:
    """(the proxy's config, router model -> the config's model_name). The user's config is kept as it is; added:
    the CrossRoute callback, the master key from LITELLM_MASTER_KEY unless one is set, and fallbacks along the
    router's fallback order for models that have none.

    Raises:
        RouterInputError naming the file and what is wrong, or every router model no model_list entry serves.
    """
    deployments = match_deployments(models, list(router.candidates), router.catalog, source, resolve=False)
    names = deployments.entry_names or {}
    config = copy.deepcopy(models)
    settings = _section(config, "litellm_settings", source)
    config["litellm_settings"] = {**settings, "callbacks": _callbacks(settings, source)}
    general = _section(config, "general_settings", source)
    config["general_settings"] = {**general, "master_key": general.get("master_key", MASTER_KEY)}
    routing = _section(config, "router_settings", source)
    order = [names[m] for m in default_fallback_order(router)]
    fallbacks = routing.get("fallbacks")
    if fallbacks is None:  # each model falls back to the others, best mean quality first (the server's order)
        routing = {**routing, "fallbacks": [{name: [o for o in order if o != name]} for name in order]}
    config["router_settings"] = routing
    return config, names


def write_proxy_config(router, router_dir: str | Path, models_path: str | Path, out: str | Path, lam: float = 0.2,
                       log_dir: str | Path | None = None, routing_timeout_ms: float = 100.0,
                       log_prompts: bool = False, lambda_policy: str | Path | None = None,
                       budget_update_seconds: float = 60.0) -> list[Path]:
    """Write DIR/config.yaml and DIR/crossroute_callback.py (atomically); returns their paths. Paths in the callback
    are absolute, so the proxy may be started from any folder."""
    from router_core.live.policy import load_policy

    if not 0.0 <= lam <= 1.0:
        raise RouterInputError(f"--lam must be in [0, 1], got {lam}")
    if lambda_policy is not None:
        load_policy(lambda_policy)  # a broken policy is refused here, not when the proxy starts
    if log_dir is None:
        from router_core.decisionlog.store import default_log_dir

        log_dir = default_log_dir()
    config, names = proxy_config(router, read_models(models_path), str(models_path))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    module = CALLBACK_TEMPLATE.format(
        router=str(Path(router_dir).resolve()), lam=float(lam), log_dir=str(Path(log_dir).resolve()),
        timeout=float(routing_timeout_ms) / 1000, log_prompts=bool(log_prompts),
        model_names={m: n for m, n in names.items() if m != n},
        lambda_policy=str(Path(lambda_policy).resolve()) if lambda_policy is not None else None,
        budget_update_seconds=float(budget_update_seconds))
    header = ("# Written by `crossroute litellm-config`: your model_list, plus the CrossRoute callback, the master key "
              "from LITELLM_MASTER_KEY\n# and fallbacks along the router's order. Start it with: litellm --config "
              f"{(out / 'config.yaml').resolve()}\n")
    return [write_text_atomic(out / "config.yaml", header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)),
            write_text_atomic(out / f"{CALLBACK_MODULE}.py", module)]
