"""LiteLLM's price map (the JSON shipped inside the installed `litellm` package, read without importing it or going
online): list prices for a catalog row's `provider_model_id`, and where a catalog disagrees with them."""
from __future__ import annotations

import functools
import importlib.util
import json
import math
from dataclasses import dataclass
from pathlib import Path

MAP_FILE = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True)
class MapPrice:
    """A model's prices in LiteLLM's map, in USD per 1M tokens (cached input: None where the map gives none)."""

    key: str  # the map's own name for it
    input_usd_per_1m: float
    output_usd_per_1m: float
    cached_input_usd_per_1m: float | None


@functools.lru_cache(maxsize=1)
def price_map() -> dict:
    """LiteLLM's local price map, or {} when litellm is not installed."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / MAP_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _per_1m(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return round(value * 1e6, 6)  # per-token floats carry noise (8.000000000000001e-07); a cent's millionth is plenty


def map_price(provider_model_id: str) -> MapPrice | None:
    """The map's prices for `provider/model` (as LiteLLM names it, with or without the provider prefix), or None."""
    entries = price_map()
    provider, _, bare = provider_model_id.partition("/")
    for key in (provider_model_id, bare if bare else None):
        entry = entries.get(key) if key else None
        if not isinstance(entry, dict):
            continue
        if key == bare and entry.get("litellm_provider") not in (provider, None):
            continue  # a bare name of another provider's model
        prices = [_per_1m(entry.get(k)) for k in ("input_cost_per_token", "output_cost_per_token")]
        if None in prices:
            continue
        return MapPrice(key, prices[0], prices[1], _per_1m(entry.get("cache_read_input_token_cost")))
    return None


@dataclass(frozen=True)
class PriceCheck:
    """One catalog row against the map."""

    name: str
    provider_model_id: str
    catalog: tuple[float, float] | None  # (input, output) USD per 1M as the catalog states them; None: not stated
    litellm: MapPrice | None
    catalog_cached: float | None = None  # the catalog's cached-input price, however it got there

    @property
    def status(self) -> str:
        if self.litellm is None:
            return "unknown to LiteLLM" if self.catalog is not None else "no price"
        if self.catalog is None:
            return "from LiteLLM"
        same = all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
                   for a, b in zip(self.catalog, (self.litellm.input_usd_per_1m, self.litellm.output_usd_per_1m)))
        return "agrees" if same else "differs (catalog wins)"


def checks_for(catalog) -> list[PriceCheck]:
    """Each model of a loaded catalog (whose prices are all stated) against the map."""
    return [PriceCheck(c.name, c.provider_model_id, (c.input_usd_per_1m, c.output_usd_per_1m), map_price(c.provider_model_id),
                       c.cached_input_usd_per_1m) for c in catalog.candidates]


def price_table(checks: list[PriceCheck]):
    """The checks as a pandas table, one row per model, for the CLI and the Models page."""
    import pandas as pd

    def shown(value):
        return float("nan") if value is None else float(value)

    return pd.DataFrame([{
        "model": c.name, "status": c.status,
        "catalog input $/1M": shown(c.catalog[0] if c.catalog else None),
        "LiteLLM input $/1M": shown(c.litellm.input_usd_per_1m if c.litellm else None),
        "catalog output $/1M": shown(c.catalog[1] if c.catalog else None),
        "LiteLLM output $/1M": shown(c.litellm.output_usd_per_1m if c.litellm else None),
        "catalog cached input $/1M": shown(c.catalog_cached),
        "LiteLLM cached input $/1M": shown(c.litellm.cached_input_usd_per_1m if c.litellm else None),
        "provider_model_id": c.provider_model_id} for c in checks])
