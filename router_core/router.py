"""The public facade: Router(config).fit(labelled set, catalog) -> scores / route / sweep / policy / save / load.

The work happens in parts with one job each: model/fitting.py trains, model/scoring.py turns texts into Scores,
policy/rule.py decides, artifact/store.py reads and writes the folder. λ is an argument of every call and never stored:
one router object may serve many users at once. Routing with an ONNX export never imports torch; training does.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from router_core.artifact.store import load as load_artifact
from router_core.artifact.store import save as save_artifact
from router_core.config import RouterConfig
from router_core.data.catalog import Candidate, Catalog
from router_core.data.labelled import LabelledSet
from router_core.errors import RouterInputError
from router_core.model.parts import RouterParts, TrainingRecord
from router_core.model.pricing import Pricing
from router_core.model.score_cache import CACHE_FILE
from router_core.model.scores import Scores
from router_core.policy.guard import as_indices, guarded_index
from router_core.policy.rule import (
    CostScale,
    Policy,
    check_lam,
    soft_cost,
    soft_quality_band,
)

if TYPE_CHECKING:
    from router_core.model.encoder import Encoder


@dataclass(frozen=True)
class RouteDecision:
    """One routing decision. Quality and cost are the router's predictions, not measurements."""

    query: str
    lam: float
    policy: str
    candidates: tuple[str, ...]  # the called candidate(s), best first; one for hard routing
    merge_weights: tuple[float, ...]
    aggregator: str | None  # merges the answers when more than one candidate is called
    predicted_cost_usd: float  # all calls, aggregator included
    predicted_quality_low: float  # hard routing: the chosen candidate's predicted quality; soft: weighted mean of the k
    predicted_quality_high: float  # soft: best of the k (an estimate band, never a measurement)
    per_candidate: dict  # name -> {weight, predicted_quality, predicted_cost_usd, utility}
    guarded: bool = False  # the hull guard sent this λ to one model (policy/guard.py), whatever the utilities say

    @property
    def candidate(self) -> str:
        return self.candidates[0]

    def to_dict(self) -> dict:
        soft = len(self.candidates) > 1
        return {"query": self.query, "lambda": self.lam, "policy": self.policy, "routing": "soft" if soft else "hard",
                "candidates": list(self.candidates), "merge_weights": list(self.merge_weights), "aggregator": self.aggregator,
                "predicted_cost_usd": self.predicted_cost_usd,
                "predicted_quality": {"low": self.predicted_quality_low, "high": self.predicted_quality_high,
                                      "note": "predicted by the router" + ("; soft routing: estimated band (weighted mean … best of k)" if soft else "")},
                "per_candidate": self.per_candidate, "guarded": self.guarded}


@dataclass(frozen=True)
class SweepResult:
    """Hard decisions for every λ in `lams` over the same cached scores."""

    lams: np.ndarray  # (T,)
    choices: np.ndarray  # (T, Q) candidate index per λ and query
    scores: Scores

    def predicted_means(self) -> tuple[np.ndarray, np.ndarray]:
        """(T,) mean predicted cost and quality of the chosen candidates."""
        rows = np.arange(self.choices.shape[1])
        return (np.array([self.scores.cost[rows, c].mean() for c in self.choices]),
                np.array([self.scores.quality[rows, c].mean() for c in self.choices]))


class Router:
    """Cross-attention LLM router. `Router(config)` stores the config only; `fit` or `load` build it."""

    def __init__(self, config: RouterConfig | None = None):
        self.config = config or RouterConfig()
        self._parts: RouterParts | None = None

    @classmethod
    def from_parts(cls, config: RouterConfig, parts: RouterParts) -> "Router":
        router = cls(config)
        router._parts = parts
        return router

    @property
    def parts(self) -> RouterParts:
        if self._parts is None:
            raise RouterInputError("this router is not trained: call fit() or Router.load(folder)")
        return self._parts

    def with_parts(self, **changes) -> "Router":
        """A new router with some parts replaced (pipeline, cost_scale, record); this one is left as it is."""
        return Router.from_parts(self.config, dataclasses.replace(self.parts, **changes))

    # ------------------------------------------------------------ what it is

    @property
    def candidates(self) -> list[str]:
        return list(self.pricing.candidates)

    @property
    def catalog(self) -> Catalog | None:
        return self.pricing.catalog

    @property
    def pricing(self) -> Pricing:
        """How the cost head becomes USD: candidates, catalog, cost mode (see pricing.py)."""
        return self.parts.pipeline.pricing

    @property
    def cost_scale(self) -> CostScale:
        return self.parts.cost_scale

    @property
    def training(self) -> TrainingRecord:
        return self.parts.record

    @property
    def encoder(self) -> Encoder:
        """The torch encoder (built on first use: routing with ONNX Runtime never needs it)."""
        return self.parts.pipeline.encoder

    @property
    def tokenizer(self):
        """The tokeniser the router reads queries with (model/tokenizer.py): what the route page splits words by."""
        return self.parts.pipeline.tokenizer

    @property
    def id(self) -> str:
        """Digest of the weights and quality stage: which router scored (score caches and scored logs key on it)."""
        return self.parts.pipeline.id

    @property
    def backend(self) -> str:
        """"torch", "onnx-fp32" or "onnx-int8": what computes this router's scores."""
        return self.parts.pipeline.backend

    # ------------------------------------------------------------ fitting

    def fit(self, data: LabelledSet, catalog: Catalog | None = None, encoder: Encoder | None = None,
            progress=None, show_bar: bool = True) -> "Router":
        """Train anew on a labelled set. Returns self.

        Args:
            catalog: prices of the candidates. With it, and token counts in the data, the cost head predicts answer
                length and costs follow the catalog (re-pricing needs no retraining); without, it predicts USD directly.
            encoder: a loaded Encoder to share (default: load `config.model.encoder`).
            progress: callable(stage, done, total) for a progress bar; stage is "encoding" or "training".
        """
        from router_core.model.fitting import fit_parts  # torch: only to train

        self._parts = fit_parts(data, self.config, catalog, encoder, progress, show_bar)
        return self

    def with_candidate(self, samples: LabelledSet, candidate: Candidate | None = None, **options) -> "Router":
        """A new router with one more model, learned from a few labelled queries of it (see extend.py)."""
        from router_core.model.extend import (
            add_candidate,  # torch training code, needed only when a model is added
        )

        return add_candidate(self, samples, candidate, **options)

    # ------------------------------------------------------------ scoring and deciding

    def scores(self, queries: list[str] | str, catalog: Catalog | None = None, progress=None,
               input_tokens=None) -> Scores:
        """Predicted weights, quality and cost for each query (encoded once, then cached).

        Args:
            catalog: price with these prices instead of the router's own (re-pricing needs no retraining).
            progress: callable(done, total) while encoding.
            input_tokens: the prompt tokens each query's call will send (a whole conversation, say), counted by the
                caller; default: estimated from the query's text.
        """
        return self.parts.pipeline.scores(queries, catalog, progress, input_tokens)

    def typical_scores(self, queries: list[str] | str, input_tokens=None, catalog: Catalog | None = None) -> Scores:
        """Scores without encoding anything: each model's mean training quality (the quality stage's prior) and the cost
        of its typical answer at these prompt lengths. What a degraded decision reads when scoring cannot keep up: it
        still honours λ, as the best fixed model at that λ."""
        from router_core.model.text import estimate_tokens

        queries = [queries] if isinstance(queries, str) else list(queries)
        n, names = len(queries), list(self.candidates)
        tokens = np.asarray(input_tokens if input_tokens is not None else [estimate_tokens(q) for q in queries], dtype=float)
        quality_stage = self.parts.pipeline.quality
        prior = quality_stage.prior if quality_stage is not None else np.full(len(names), 0.5)
        prices = self.pricing.catalog_for(catalog)
        if prices is not None:
            answers = np.tile([c.typical_output_tokens for c in prices.candidates], (n, 1)).astype(float)
            cost = prices.cost_matrix(tokens, answers)
        else:  # no prices: cost cannot tell the models apart, so λ has nothing to trade
            answers = np.full((n, len(names)), np.nan)
            cost = np.full((n, len(names)), float(np.exp(self.pricing.cost_standardise[0])))
        quality = np.tile(np.asarray(prior, dtype=float), (n, 1))
        weights = np.full((n, len(names)), 1.0 / len(names))
        return Scores(queries, names, weights, quality, cost, tokens, answers, [np.zeros((0, len(names))) for _ in queries])

    def policy(self, name: str | Policy = "linear") -> Policy:
        """The decision rule every consumer uses: this router's cost scale κ with the config's α and τ, and for the
        linear rule its hull guard (the λ ranges sent to one model, policy/guard.py)."""
        if isinstance(name, Policy):
            return name
        guard = as_indices(self.parts.guard, self.candidates) if name == "linear" else ()
        return Policy(self.cost_scale, name, self.config.policy.exponential_alpha, self.config.policy.soft_temperature,
                      guard)

    def decide(self, scores: Scores, lam: float, k: int = 1, policy: str | Policy = "linear",
               catalog: Catalog | None = None, allowed: np.ndarray | None = None) -> list[RouteDecision]:
        """Decisions from already computed scores: pure arithmetic, no encoding.

        Args:
            allowed: (Q, M) bool, the models each query may use (a request's own constraints); default all. With
                k > 1 the aggregator merges and never also answers, so no model is called twice.
        """
        lam = check_lam(lam)
        rule = self.policy(policy)
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=bool)
            if allowed.shape != scores.quality.shape or not allowed.any(axis=1).all():
                raise RouterInputError("allowed must mark at least one of the router's models for every query")
        utility, choice = rule.utilities_and_choice(scores.quality, scores.cost, lam, scores.weights, allowed)
        guarded = guarded_index(rule.guard, lam) if rule.name == "linear" else None
        if k == 1:
            indices = choice[:, None]
            merge = np.ones_like(indices, dtype=float)
            total_cost = np.take_along_axis(scores.cost, indices, axis=1)[:, 0]
            low = high = np.take_along_axis(scores.quality, indices, axis=1)[:, 0]
            aggregator = None
        else:
            prices = self.pricing.catalog_for(catalog)
            if prices is None:
                raise RouterInputError("soft routing needs a catalog with prices for the aggregator; this router has none")
            merger = prices[prices.aggregator_name]
            answerers = np.ones_like(scores.quality, dtype=bool) if allowed is None else allowed.copy()
            answerers[:, list(scores.candidates).index(merger.name)] = False
            indices, merge = rule.top_k(scores.quality, scores.cost, lam, k, scores.weights, answerers)
            total_cost = soft_cost(scores.cost, indices, scores.input_tokens, scores.answer_tokens,
                                   merger.input_usd_per_1m, merger.output_usd_per_1m, merger.typical_output_tokens)
            low, high = soft_quality_band(scores.quality, indices, merge)
            aggregator = merger.name
        decisions = []
        for i, query in enumerate(scores.queries):
            per_candidate = {name: {"weight": float(scores.weights[i, j]), "predicted_quality": float(scores.quality[i, j]),
                                    "predicted_cost_usd": float(scores.cost[i, j]), "utility": float(utility[i, j])}
                             for j, name in enumerate(scores.candidates)}
            decisions.append(RouteDecision(query, lam, rule.name, tuple(scores.candidates[j] for j in indices[i]),
                                           tuple(float(w) for w in merge[i]), aggregator, float(total_cost[i]),
                                           float(low[i]), float(high[i]), per_candidate,
                                           bool(guarded is not None and k == 1 and indices[i, 0] == guarded)))
        return decisions

    def route(self, queries: list[str] | str, lam: float, k: int = 1, policy: str | Policy = "linear",
              catalog: Catalog | None = None) -> list[RouteDecision]:
        """Route each query at trade-off λ (0 = quality first, 1 = cost first); k > 1 is soft routing."""
        return self.decide(self.scores(queries, catalog), lam, k, policy, catalog)

    def sweep(self, queries: list[str] | Scores, lams, policy: str | Policy = "linear") -> SweepResult:
        """Hard decisions over many λ values; encodes once (or takes Scores already computed: the slider's path)."""
        scores = queries if isinstance(queries, Scores) else self.scores(queries)
        lams = np.asarray([check_lam(x) for x in np.atleast_1d(lams)])
        return SweepResult(lams, self.policy(policy).choose_each(scores.quality, scores.cost, lams, scores.weights), scores)

    # ------------------------------------------------------------ artifacts

    def save(self, folder: str | Path) -> Path:
        """Write the artifact to a temporary folder, then rename it into place (see artifact.py)."""
        return save_artifact(folder, self.config, self.parts)

    @classmethod
    def load(cls, folder: str | Path, encoder: Encoder | None = None, backend: str = "auto",
             cache_dir: str | Path | None = None, threads: int | None = None) -> "Router":
        """Rebuild a saved router; checks router.json's own digest and structure and every file's size and digest, reads
        only regular files inside `folder` (and the encoder the router was trained with, if unchanged), never unpickles.

        Args:
            backend: "auto" scores with the artifact's ONNX export when it has one (an accepted int8 encoder first),
                else torch; "torch", "onnx", "onnx-fp32" or "onnx-int8" insist on one.
            cache_dir: also keep scores in `cache_dir/scores.sqlite` (see attach_disk_cache).
            threads: ONNX Runtime threads per graph (default: one per core).
        """
        config, parts = load_artifact(folder, encoder, backend, threads)
        router = cls.from_parts(config, parts)
        if cache_dir is not None:
            router.attach_disk_cache(Path(cache_dir) / CACHE_FILE)
        return router

    def attach_disk_cache(self, path: str | Path | None) -> "Router":
        """Keep scores in an SQLite file too (None detaches), so a re-opened dashboard or re-run CLI does not re-encode.

        Args:
            path: the SQLite file (created if absent), or an existing folder to hold `scores.sqlite`. One file can serve
                many routers, threads and processes: entries are keyed by the router's id, backend and text.
        """
        self.parts.pipeline.attach_disk_cache(path)
        return self
