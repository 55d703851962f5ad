"""The upstream models: a LiteLLM-style `model_list` file (the config.yaml a LiteLLM proxy user already has) matched to
the router's candidates, either by `model_name` or by the catalog's `provider_model_id` = `litellm_params.model`."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from router_core.data.catalog import Catalog
from router_core.data.yaml_files import load_yaml
from router_core.errors import RouterInputError

ENV_PREFIX = "os.environ/"  # LiteLLM's convention for secrets kept out of the file


@dataclass(frozen=True)
class Deployments:
    """model_list entries for the router's candidates, and the entries that matched none of them."""

    model_list: tuple[dict, ...]  # LiteLLM Router entries; model_name is the router candidate's name
    ignored: tuple[str, ...]  # "name: why", for the start-up log
    entry_names: dict | None = None  # router model -> the config's own model_name for it (the proxy routes by it)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(entry["model_name"] for entry in self.model_list))


def _resolved(params: dict, where: str) -> dict:
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith(ENV_PREFIX):
            variable = value[len(ENV_PREFIX):]
            if variable not in os.environ:
                raise RouterInputError(f"{where}.{key}: environment variable {variable} is not set")
            value = os.environ[variable]
        out[key] = value
    return out


def match_deployments(config, candidates: list[str], catalog: Catalog | None, source: str = "config.yaml",
                      resolve: bool = True) -> Deployments:
    """Map the config's model_list onto the router's candidates (`resolve`: read `os.environ/VAR` values now, as
    the server does; off when writing a config for the proxy, which reads them itself).

    Raises:
        RouterInputError naming the file and entry when the structure is wrong, or naming every candidate that no
        entry serves (a router that may choose a model it cannot call would lose requests).
    """
    if not isinstance(config, dict) or not isinstance(config.get("model_list"), list) or not config["model_list"]:
        raise RouterInputError(f"{source}: expected a LiteLLM config with a non-empty model_list")
    by_provider = {c.provider_model_id: c.name for c in catalog.candidates} if catalog is not None else {}
    matched, ignored = [], []
    for i, entry in enumerate(config["model_list"]):
        where = f"{source}: model_list[{i}]"
        if not isinstance(entry, dict):
            raise RouterInputError(f"{where} must be a mapping with model_name and litellm_params")
        params = entry.get("litellm_params")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str) or not params["model"].strip():
            raise RouterInputError(f"{where}.litellm_params.model must be text such as openai/gpt-4o")
        name = str(entry.get("model_name", ""))
        candidate = name if name in candidates else by_provider.get(params["model"])
        if candidate is None:
            ignored.append(f"{name or params['model']}: not one of the router's models ({', '.join(candidates)})")
            continue
        resolved = _resolved(params, f"{where} ({name or params['model']}).litellm_params") if resolve else dict(params)
        deployment = {"model_name": candidate, "litellm_params": resolved, "entry_name": name or candidate}
        if isinstance(entry.get("model_info"), dict):
            deployment["model_info"] = dict(entry["model_info"])  # what the operator states the model can take
        matched.append(deployment)
    missing = [c for c in candidates if c not in {e["model_name"] for e in matched}]
    if missing:
        raise RouterInputError(f"{source}: no model_list entry for {', '.join(missing)}; the router may choose "
                               f"{'it' if len(missing) == 1 else 'them'}, so every candidate needs an entry (by "
                               "model_name, or litellm_params.model equal to the catalog's provider_model_id)")
    names = {d["model_name"]: d.pop("entry_name") for d in matched}
    return Deployments(tuple(matched), tuple(ignored), names)


def read_models(path: str | Path):
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as e:
        raise RouterInputError(f"{path}: cannot be read ({e.strerror})") from e
    return load_yaml(text, str(path))


def load_deployments(path: str | Path, candidates: list[str], catalog: Catalog | None) -> Deployments:
    return match_deployments(read_models(path), candidates, catalog, source=str(path))


def missing_credentials(deployments: Deployments, source: str) -> None:
    """Refuse deployments that could not authenticate: no api_key and the provider's key variable unset (LiteLLM
    would answer every call with "Missing credentials", so the server would start and lose every request).

    Raises:
        RouterInputError naming each model and the variable it needs.
    """
    import litellm

    missing = []
    for entry in deployments.model_list:
        params = entry["litellm_params"]
        if params.get("api_key") or params.get("mock_response") is not None:
            continue
        try:
            needed = litellm.validate_environment(model=params["model"], api_base=params.get("api_base"))
        except Exception:  # a provider LiteLLM cannot check: its own error comes at the first call
            continue
        if not needed.get("keys_in_environment", True) and needed.get("missing_keys"):
            missing.append(f"{entry['model_name']} ({params['model']}) needs {' or '.join(needed['missing_keys'])}")
    if missing:
        raise RouterInputError(f"{source}: missing credentials: {'; '.join(missing)}. Set the variable, or give the "
                               "entry `api_key: os.environ/VAR`")


def demo_deployments(candidates: list[str], catalog: Catalog | None) -> Deployments:
    """Every candidate served by LiteLLM's mock responses: no key, no network."""
    provider = {c.name: c.provider_model_id for c in catalog.candidates} if catalog is not None else {}
    return Deployments(tuple({"model_name": c, "litellm_params": {"model": provider.get(c, f"openai/{c}")}}
                             for c in candidates), ())
