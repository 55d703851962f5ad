"""The candidate LLMs, their list prices and what a call costs."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import RouterInputError

CATALOG_COLUMNS = ["name", "provider_model_id", "input_usd_per_1m", "output_usd_per_1m", "typical_output_tokens"]


@dataclass(frozen=True)
class Candidate:
    """One candidate LLM.

    Args:
        name: short name used in labelled data (the `model` column).
        provider_model_id: LiteLLM-style id, e.g. ``openai/gpt-4o``.
        input_usd_per_1m / output_usd_per_1m: list price in USD per 1M tokens.
        typical_output_tokens: used to price a request whose answer has not been generated yet.
    """

    name: str
    provider_model_id: str
    input_usd_per_1m: float
    output_usd_per_1m: float
    typical_output_tokens: int = 300

    def __post_init__(self):
        if not self.name or not str(self.name).strip():
            raise RouterInputError("catalog: a candidate has an empty name")
        for field in ("input_usd_per_1m", "output_usd_per_1m"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise RouterInputError(f"catalog: candidate {self.name!r} column {field} must be a price >= 0 in USD per 1M tokens, got {value!r}")
        if not isinstance(self.typical_output_tokens, (int, np.integer)) or self.typical_output_tokens < 0:
            raise RouterInputError(f"catalog: candidate {self.name!r} column typical_output_tokens must be a whole number >= 0, got {self.typical_output_tokens!r}")

    def cost_usd(self, input_tokens, output_tokens=None):
        """USD for one call (arrays broadcast); output defaults to the typical answer length."""
        if output_tokens is None:
            output_tokens = self.typical_output_tokens
        return (np.asarray(input_tokens, dtype=float) * self.input_usd_per_1m
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
        return pd.DataFrame([dataclasses.asdict(c) for c in self.candidates], columns=CATALOG_COLUMNS)

    def to_dict(self) -> dict:
        return {"candidates": [dataclasses.asdict(c) for c in self.candidates], "aggregator": self.aggregator}

    @classmethod
    def from_dict(cls, data: dict) -> "Catalog":
        try:
            return cls(tuple(Candidate(**c) for c in data["candidates"]), data.get("aggregator"))
        except (KeyError, TypeError) as e:
            raise RouterInputError(f"catalog: malformed entry ({e}); expected keys {', '.join(CATALOG_COLUMNS)}") from e

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str = "catalog", aggregator: str | None = None) -> "Catalog":
        """Build from a table with the columns of CATALOG_COLUMNS (typical_output_tokens optional)."""
        missing = [c for c in CATALOG_COLUMNS[:4] if c not in frame.columns]
        if missing:
            raise RouterInputError(f"{source}: missing column(s) {', '.join(missing)}; expected {', '.join(CATALOG_COLUMNS)}")
        candidates = []
        for i, row in enumerate(frame.to_dict("records")):
            where = f"{source} row {i + 2}"  # +2: header line, 1-based rows as a spreadsheet shows them
            try:
                prices = {k: float(row[k]) for k in ("input_usd_per_1m", "output_usd_per_1m")}
                typical = row.get("typical_output_tokens", 300)
                typical = 300 if typical is None or (isinstance(typical, float) and math.isnan(typical)) else int(typical)
            except (TypeError, ValueError) as e:
                raise RouterInputError(f"{where}: prices must be numbers ({e})") from e
            try:
                candidates.append(Candidate(str(row["name"]), str(row["provider_model_id"]), typical_output_tokens=typical, **prices))
            except RouterInputError as e:
                raise RouterInputError(f"{where}: {e}") from e
        return cls(tuple(candidates), aggregator)


def catalog_from_litellm_config(config: dict, source: str = "config.yaml", typical_output_tokens: int = 300) -> Catalog:
    """Read candidates and prices from a LiteLLM proxy config (``model_list[].model_info``).

    LiteLLM states prices per token (``input_cost_per_token``); we keep USD per 1M tokens.
    """
    entries = config.get("model_list") if isinstance(config, dict) else None
    if not entries:
        raise RouterInputError(f"{source}: no model_list; expected a LiteLLM proxy config with model_list entries")
    candidates = []
    for i, entry in enumerate(entries):
        where = f"{source}: model_list[{i}]"
        name = entry.get("model_name") if isinstance(entry, dict) else None
        params = entry.get("litellm_params") or {}
        info = entry.get("model_info") or {}
        if not name:
            raise RouterInputError(f"{where} has no model_name")
        price_in = info.get("input_cost_per_token", params.get("input_cost_per_token"))
        price_out = info.get("output_cost_per_token", params.get("output_cost_per_token"))
        if price_in is None or price_out is None:
            raise RouterInputError(f"{where} ({name}) has no input_cost_per_token/output_cost_per_token in model_info")
        try:
            candidates.append(Candidate(str(name), str(params.get("model", name)), float(price_in) * 1e6, float(price_out) * 1e6,
                                        int(info.get("typical_output_tokens", typical_output_tokens))))
        except (TypeError, ValueError) as e:
            raise RouterInputError(f"{where} ({name}): prices must be numbers ({e})") from e
    return Catalog(tuple(candidates))
