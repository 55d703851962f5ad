"""The candidate LLMs, their list prices and what a call costs."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from router_core.data.tables import read_table, source_bytes
from router_core.data.yaml_files import load_yaml
from router_core.errors import RouterInputError

CATALOG_COLUMNS = ["name", "provider_model_id", "input_usd_per_1m", "output_usd_per_1m", "typical_output_tokens"]
CACHED_COLUMN = "cached_input_usd_per_1m"  # optional: prompt tokens served from the provider's cache


def _entry(candidate) -> dict:
    """A candidate as stored (router.json, digests): the cached-input price only where there is one, so catalogs
    without it keep the form and digest they always had."""
    entry = dataclasses.asdict(candidate)
    if entry.get(CACHED_COLUMN) is None:
        entry.pop(CACHED_COLUMN, None)
    return entry


def _not_a_number(value) -> bool:
    """Booleans are ints to Python, but a `true` price is a typo, not $1."""
    return isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating))


def _is_empty(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()


DECIMAL = re.compile(r"^[-+]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$")
MAX_USD_PER_1M = 10_000.0  # above any model's list price: a bigger one is a per-token price in a per-1M field, or a typo
MAX_TYPICAL_TOKENS = 10_000_000  # as the artifact's schema allows


def _number(value, where: str, what: str) -> float:
    """A number cell: decimal text is fine; booleans, words, hex, `1_000` and numbers too big for a float are not."""
    if isinstance(value, str):
        text = value.strip()
        if DECIMAL.fullmatch(text):
            number = float(text)
            if math.isfinite(number):
                return number
    elif not _not_a_number(value):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise RouterInputError(f"{where}: {what} must be a decimal number, got {shown}")


def _whole_number(value, where: str, what: str, default: int) -> int:
    if value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip()):
        return default
    number = _number(value, where, what)
    if not math.isfinite(number) or not number.is_integer() or number < 0:
        raise RouterInputError(f"{where}: {what} must be a whole number >= 0, got {value!r}")
    return int(number)


@dataclass(frozen=True)
class Candidate:
    """One candidate LLM.

    Args:
        name: short name used in labelled data (the `model` column).
        provider_model_id: LiteLLM-style id, e.g. ``openai/gpt-4o``.
        input_usd_per_1m / output_usd_per_1m: list price in USD per 1M tokens.
        typical_output_tokens: used to price a request whose answer has not been generated yet.
        cached_input_usd_per_1m: price of prompt tokens the provider served from its cache (None: the input price).
    """

    name: str
    provider_model_id: str
    input_usd_per_1m: float
    output_usd_per_1m: float
    typical_output_tokens: int = 300
    cached_input_usd_per_1m: float | None = None  # prompt tokens read from the provider's cache; None: as input

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise RouterInputError(f"catalog: a candidate has an empty name ({self.name!r}); every model needs a name")
        for field in ("input_usd_per_1m", "output_usd_per_1m", "cached_input_usd_per_1m"):
            value = getattr(self, field)
            if field == "cached_input_usd_per_1m" and value is None:
                continue
            if _not_a_number(value) or not math.isfinite(value) or value < 0:
                raise RouterInputError(f"catalog: candidate {self.name!r} column {field} must be a price >= 0 in USD per 1M tokens, got {value!r}")
            if value > MAX_USD_PER_1M:
                raise RouterInputError(f"catalog: candidate {self.name!r} {field} is ${value:,.6g} per 1M tokens, more than "
                                       f"any model costs (at most ${MAX_USD_PER_1M:,.0f}); is a price per 1M tokens "
                                       "written where a price per token belongs (LiteLLM's input_cost_per_token)?")
        if (isinstance(self.typical_output_tokens, (bool, np.bool_)) or not isinstance(self.typical_output_tokens, (int, np.integer))
                or not 0 <= self.typical_output_tokens <= MAX_TYPICAL_TOKENS):
            raise RouterInputError(f"catalog: candidate {self.name!r} column typical_output_tokens must be a whole number "
                                   f"from 0 to {MAX_TYPICAL_TOKENS:,}, got {self.typical_output_tokens!r}")

    def cost_usd(self, input_tokens, output_tokens=None, cached_tokens=0):
        """USD for one call (arrays broadcast); output defaults to the typical answer length. `cached_tokens` of the
        input were read from the provider's cache and cost the cached-input price where the catalog has one."""
        if output_tokens is None:
            output_tokens = self.typical_output_tokens
        cached = np.asarray(cached_tokens, dtype=float)
        cached_price = self.input_usd_per_1m if self.cached_input_usd_per_1m is None else self.cached_input_usd_per_1m
        return ((np.asarray(input_tokens, dtype=float) - cached) * self.input_usd_per_1m + cached * cached_price
                + np.asarray(output_tokens, dtype=float) * self.output_usd_per_1m) / 1e6


@dataclass(frozen=True)
class Catalog:
    """The candidates in a fixed order, plus the model that merges answers in soft routing."""

    candidates: tuple[Candidate, ...]
    aggregator: str | None = None  # None: the candidate with the highest output price aggregates

    def __post_init__(self):
        if not self.candidates:
            raise RouterInputError("catalog: no candidates")
        names = [c.name for c in self.candidates]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise RouterInputError(f"catalog: candidate names must be unique, repeated: {', '.join(duplicated)}")
        if self.aggregator is not None and self.aggregator not in names:
            raise RouterInputError(f"catalog: aggregator {self.aggregator!r} is not a candidate ({', '.join(names)})")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.candidates]

    def __getitem__(self, name: str) -> Candidate:
        for c in self.candidates:
            if c.name == name:
                return c
        raise RouterInputError(f"catalog: no candidate named {name!r}; the catalog has {', '.join(self.names)}")

    @property
    def aggregator_name(self) -> str:
        if self.aggregator is not None:
            return self.aggregator
        return max(self.candidates, key=lambda c: (c.output_usd_per_1m, c.input_usd_per_1m)).name

    def cost_matrix(self, input_tokens, output_tokens=None) -> np.ndarray:
        """Cost in USD of sending each request to each candidate.

        Args:
            input_tokens: (Q,) prompt lengths.
            output_tokens: (Q, M) answer lengths, or None for each candidate's typical length.
        Returns:
            (Q, M) USD, columns in catalog order.
        """
        input_tokens = np.asarray(input_tokens, dtype=float)
        columns = []
        for j, c in enumerate(self.candidates):
            out = None if output_tokens is None else np.asarray(output_tokens, dtype=float)[:, j]
            columns.append(c.cost_usd(input_tokens, out) * np.ones_like(input_tokens))
        return np.stack(columns, axis=1)

    def subset(self, names: list[str]) -> "Catalog":
        agg = self.aggregator if self.aggregator in names else None
        return Catalog(tuple(self[n] for n in names), agg)

    def with_prices(self, name: str, **changes) -> "Catalog":
        """A copy with one candidate's fields replaced (re-pricing never needs retraining)."""
        return Catalog(tuple(dataclasses.replace(c, **changes) if c.name == name else c for c in self.candidates), self.aggregator)

    def with_edits(self, frame: pd.DataFrame, source: str = "catalog table") -> "Catalog":
        """This catalog with the prices of an edited copy of `to_frame()`: same models in the same order, aggregator kept.

        Raises:
            RouterInputError naming the row and column of a bad price, or the models added, removed or reordered.
        """
        edited = Catalog.from_frame(frame, source=source)  # the aggregator is set below, once the names are known to match
        if edited.names != self.names:
            raise RouterInputError(f"{source}: models must stay {', '.join(self.names)} in that order (prices only "
                                   f"change); got {', '.join(edited.names)}")
        return Catalog(edited.candidates, self.aggregator)

    def with_prices_from(self, other: "Catalog", source: str = "imported prices") -> tuple["Catalog", list[str]]:
        """Take input and output prices from `other` for the models both have; the rest stay as they are.

        Returns:
            (merged catalog, names of the models priced from `other`, in this catalog's order).
        Raises:
            RouterInputError when `other` prices none of this catalog's models.
        """
        shared = [name for name in self.names if name in set(other.names)]
        if not shared:
            raise RouterInputError(f"{source}: none of its models ({', '.join(other.names)}) is a candidate of this "
                                   f"router ({', '.join(self.names)})")
        merged = self
        for name in shared:
            merged = merged.with_prices(name, input_usd_per_1m=other[name].input_usd_per_1m,
                                        output_usd_per_1m=other[name].output_usd_per_1m)
        return merged, shared

    def covers(self, names) -> bool:
        """Whether every model in `names` has a price here."""
        return set(names) <= set(self.names)

    @property
    def aggregator_entry(self) -> Candidate:
        """The candidate that merges answers in soft routing."""
        return self[self.aggregator_name]

    @property
    def digest(self) -> str:
        """A short digest of names, prices and aggregator: caches of priced results key on it."""
        return hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def to_frame(self) -> pd.DataFrame:
        cached = any(c.cached_input_usd_per_1m is not None for c in self.candidates)
        return pd.DataFrame([dataclasses.asdict(c) for c in self.candidates],
                            columns=CATALOG_COLUMNS + ([CACHED_COLUMN] if cached else []))

    def to_dict(self) -> dict:
        return {"candidates": [_entry(c) for c in self.candidates], "aggregator": self.aggregator}

    @classmethod
    def from_dict(cls, data: dict) -> "Catalog":
        try:
            return cls(tuple(Candidate(**c) for c in data["candidates"]), data.get("aggregator"))
        except (KeyError, TypeError) as e:
            raise RouterInputError(f"catalog: malformed entry ({e}); expected keys {', '.join(CATALOG_COLUMNS)}") from e

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str = "catalog", aggregator: str | None = None) -> "Catalog":
        """Build from a table with the columns of CATALOG_COLUMNS (typical_output_tokens optional)."""
        missing = [c for c in CATALOG_COLUMNS[:2] if c not in frame.columns]
        if missing:
            raise RouterInputError(f"{source}: missing column(s) {', '.join(missing)}; expected {', '.join(CATALOG_COLUMNS)} "
                                   "(prices may be left empty for models LiteLLM's price map knows)")
        candidates = []
        for i, row in enumerate(frame.to_dict("records")):
            where = f"{source} row {i + 2}"  # +2: header line, 1-based rows as a spreadsheet shows them
            for column in ("name", "provider_model_id"):
                if _is_empty(row[column]) or not isinstance(row[column], (str, int, np.integer)):
                    raise RouterInputError(f"{where}: column {column} is empty or not text ({row[column]!r}); every model needs one")
            stated = _stated_prices(row, where)
            model_id = str(row["provider_model_id"]).strip()
            prices = dict(zip(("input_usd_per_1m", "output_usd_per_1m"), stated or _map_prices(model_id, where)))
            cached = row.get(CACHED_COLUMN)
            if not _is_empty(cached):
                prices[CACHED_COLUMN] = _number(cached, where, f"column {CACHED_COLUMN}")
            elif stated is None:  # every price from LiteLLM's map, the cached-input one too where it has one
                prices[CACHED_COLUMN] = _map_cached(model_id)
            typical = _whole_number(row.get("typical_output_tokens"), where, "column typical_output_tokens", 300)
            try:
                candidates.append(Candidate(str(row["name"]).strip(), model_id, typical_output_tokens=typical, **prices))
            except RouterInputError as e:
                raise RouterInputError(f"{where}: {e}") from e
        return cls(tuple(candidates), aggregator)


def _stated_prices(row: dict, where: str) -> tuple[float, float] | None:
    """The row's own (input, output) prices; None when both are left empty (LiteLLM's map prices the model)."""
    cells = [row.get(k) for k in ("input_usd_per_1m", "output_usd_per_1m")]
    if all(_is_empty(c) for c in cells):
        return None
    if any(_is_empty(c) for c in cells):
        raise RouterInputError(f"{where}: give both input_usd_per_1m and output_usd_per_1m, or leave both empty to "
                               "take LiteLLM's prices")
    return _number(cells[0], where, "column input_usd_per_1m"), _number(cells[1], where, "column output_usd_per_1m")


def _map_prices(provider_model_id: str, where: str) -> tuple[float, float]:
    from router_core.data.litellm_prices import map_price

    found = map_price(provider_model_id)
    if found is None:
        raise RouterInputError(f"{where}: no price given and LiteLLM's price map does not know {provider_model_id!r}; "
                               "state input_usd_per_1m and output_usd_per_1m (`crossroute prices --catalog FILE` lists "
                               "what the map knows)")
    return found.input_usd_per_1m, found.output_usd_per_1m


def _map_cached(provider_model_id: str) -> float | None:
    from router_core.data.litellm_prices import map_price

    found = map_price(provider_model_id)
    return found.cached_input_usd_per_1m if found is not None else None


def price_checks(source, name: str | None = None) -> list:
    """Every model of a catalog (CSV/JSON table or LiteLLM config.yaml) against LiteLLM's price map: the prices the
    file states (None where left to the map) beside the map's. Raises RouterInputError as load_catalog does."""
    from router_core.data.litellm_prices import PriceCheck, map_price

    catalog = load_catalog(source, name)
    label = name or (Path(source).name if isinstance(source, (str, Path)) else getattr(source, "name", "catalog"))
    if Path(label).suffix.lower() in (".yaml", ".yml"):
        entries = load_yaml(source_bytes(source, label), label)["model_list"]
        stated = {}
        for entry in entries:
            info, params = entry.get("model_info") or {}, entry.get("litellm_params") or {}
            values = [info.get(k, params.get(k)) for k in ("input_cost_per_token", "output_cost_per_token")]
            stated[str(entry["model_name"]).strip()] = None if None in values else tuple(float(v) * 1e6 for v in values)
    else:
        frame = read_table(source, name)
        stated = {str(row["name"]).strip(): _stated_prices(row, "") for row in frame.to_dict("records")}
    return [PriceCheck(c.name, c.provider_model_id, stated.get(c.name), map_price(c.provider_model_id),
                       c.cached_input_usd_per_1m) for c in catalog.candidates]


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RouterInputError(f"{where} must be a mapping of keys to values, got a {type(value).__name__}")
    return value


def catalog_from_litellm_config(config, source: str = "config.yaml", typical_output_tokens: int = 300) -> Catalog:
    """Read candidates and prices from a LiteLLM proxy config (``model_list[].model_info``).

    LiteLLM states prices per token (``input_cost_per_token``); we keep USD per 1M tokens. Every entry must be
    usable: a model without prices is an error naming its entry, never left out silently.
    Raises:
        RouterInputError naming the key or the model_list entry whose structure or value is wrong.
    """
    if not isinstance(config, dict):
        raise RouterInputError(f"{source}: expected a LiteLLM proxy config (a mapping with a model_list key), "
                               f"got a {type(config).__name__}")
    entries = config.get("model_list")
    if not entries:
        raise RouterInputError(f"{source}: no model_list; expected a LiteLLM proxy config with model_list entries")
    if not isinstance(entries, list):
        raise RouterInputError(f"{source}: model_list must be a list of models, got a {type(entries).__name__}")
    candidates = []
    for i, entry in enumerate(entries):
        where = f"{source}: model_list[{i}]"
        entry = _mapping(entry, where)
        name = entry.get("model_name")
        if not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).strip():
            raise RouterInputError(f"{where} has no model_name (text), got {name!r}")
        name = str(name).strip()
        params = _mapping(entry.get("litellm_params"), f"{where}.litellm_params")
        info = _mapping(entry.get("model_info"), f"{where}.model_info")
        model = params.get("model", name)
        if not isinstance(model, str) or not model.strip():
            raise RouterInputError(f"{where}.litellm_params.model must be text such as openai/gpt-4o, got {model!r}")
        prices = []
        for key in ("input_cost_per_token", "output_cost_per_token"):
            holder = "model_info" if key in info else "litellm_params"
            value = info.get(key, params.get(key))
            if value is None:
                break
            price = _number(value, f"{where}.{holder}.{key} ({name})", "a price per token")
            if not math.isfinite(price) or price < 0:
                raise RouterInputError(f"{where}.{holder}.{key} ({name}): a price per token must be a finite number >= 0, got {value!r}")
            prices.append(float(Decimal(repr(price)) * 1_000_000))  # exact: 8e-07 per token is 0.8 per 1M
        if len(prices) == 1:
            raise RouterInputError(f"{where} ({name}) has no output_cost_per_token in model_info or litellm_params; "
                                   "give both prices, or neither to take LiteLLM's")
        cached_value = info.get("cache_read_input_token_cost", params.get("cache_read_input_token_cost"))
        cached = None if cached_value is None else float(Decimal(repr(_number(
            cached_value, f"{where}.cache_read_input_token_cost ({name})", "a price per token"))) * 1_000_000)
        if not prices:  # no price of its own: LiteLLM's map prices the deployment, as the proxy does
            prices = list(_map_prices(model.strip(), f"{where} ({name})"))
            cached = cached if cached is not None else _map_cached(model.strip())
        typical = _whole_number(info.get("typical_output_tokens"), f"{where}.model_info.typical_output_tokens ({name})",
                                "typical_output_tokens", typical_output_tokens)
        candidate = Candidate(name, model.strip(), prices[0], prices[1], typical, cached)
        earlier = next((j for j, c in enumerate(candidates) if c.name == name), None)
        if earlier is None:
            candidates.append(candidate)
        elif (candidates[earlier].input_usd_per_1m, candidates[earlier].output_usd_per_1m) != tuple(prices):
            # several deployments of one model_name are load-balanced by LiteLLM; they must agree on its price
            raise RouterInputError(f"{where} ({name}): priced differently from an earlier entry with the same model_name; "
                                   "one model_name needs one price")
    return Catalog(tuple(candidates))


def catalog_to_litellm_config(catalog: Catalog) -> str:
    """The catalog as a LiteLLM proxy config.yaml (model_list with per-token prices in model_info), which
    catalog_from_litellm_config reads back to the same names and prices."""

    entries = []
    for c in catalog.candidates:
        params = {"model": c.provider_model_id}
        provider, _, model = c.provider_model_id.partition("/")
        if model:  # the provider's usual key variable; the proxy and `serve --models` read it from the environment
            params["api_key"] = f"os.environ/{re.sub(r'[^A-Z0-9]+', '_', provider.upper())}_API_KEY"
        info = {"input_cost_per_token": _per_token(c.input_usd_per_1m),
                "output_cost_per_token": _per_token(c.output_usd_per_1m)}
        if c.cached_input_usd_per_1m is not None:
            info["cache_read_input_token_cost"] = _per_token(c.cached_input_usd_per_1m)
        entries.append({"model_name": c.name, "litellm_params": params,
                        "model_info": {**info, "typical_output_tokens": int(c.typical_output_tokens)}})
    return yaml.safe_dump({"model_list": entries}, sort_keys=False, allow_unicode=True)


_DATED = re.compile(r"^(?P<base>.+?)(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4}|@[\w.-]+|-latest)$")


def catalog_names(models: pd.Series, catalog: Catalog | None) -> pd.Series:
    """A log's model column in the catalog's names: a name stays; a provider id (`openai/gpt-4o`), its bare model
    (`gpt-4o`) or a dated release of it (`gpt-4o-2024-08-06`, `claude-3-5-haiku-20241022`) becomes the catalog's
    name for it; anything else is left as it is (a model the catalog does not have)."""
    if catalog is None or models is None:
        return models
    lookup = {}
    for c in catalog.candidates:
        bare = c.provider_model_id.partition("/")[2] or c.provider_model_id
        for key in (c.provider_model_id, bare, _DATED.sub(r"\g<base>", bare)):
            lookup.setdefault(key.lower(), c.name)
    for c in catalog.candidates:
        lookup[c.name.lower()] = c.name

    def name_of(value):
        if not isinstance(value, str):
            return value
        key = value.strip().lower()
        for attempt in (key, key.partition("/")[2], _DATED.sub(r"\g<base>", key.partition("/")[2] or key)):
            if attempt and attempt in lookup:
                return lookup[attempt]
        return value

    distinct = {v: name_of(v) for v in pd.unique(models.dropna())}
    return models.map(lambda v: distinct.get(v, v) if isinstance(v, str) else v)


def _per_token(usd_per_1m: float) -> float:
    """USD per token without binary noise: 0.8 per 1M is 8e-07, not 8.000000000000001e-07."""
    return float(Decimal(repr(float(usd_per_1m))) / 1_000_000)


def load_catalog(source, name: str | None = None) -> Catalog:
    """A catalog from a CSV/JSON table (columns of catalog.CATALOG_COLUMNS) or a LiteLLM proxy config.yaml."""
    label = name or (Path(source).name if isinstance(source, (str, Path)) else getattr(source, "name", "catalog"))
    if Path(label).suffix.lower() in (".yaml", ".yml"):
        return catalog_from_litellm_config(load_yaml(source_bytes(source, label), label), source=label)
    return Catalog.from_frame(read_table(source, name), source=label)
