"""The scoring pipeline: query texts -> Scores, through a backend (torch or ONNX Runtime), the quality stage and
pricing, with a bounded in-memory cache and an optional SQLite cache so each distinct text is encoded once."""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from router_core.data.catalog import Catalog
from router_core.errors import RouterInputError
from router_core.model.encoder import Encoder
from router_core.model.net import RouterNet
from router_core.model.pricing import Pricing
from router_core.model.score_cache import CACHE_FILE, ScoreCache
from router_core.model.scorer import RawScore, TorchScorer
from router_core.model.text import estimate_tokens, sentence_embeddings, text_key
from router_core.quality import QualityStage


@dataclass(frozen=True)
class Scores:
    """What the router predicts for each query, computed once and re-used for every λ and policy.

    Columns follow `candidates`. Costs are USD per request, priced by the catalog they were computed with.
    """

    queries: list[str]
    candidates: list[str]
    weights: np.ndarray  # (Q, M) routing weights (attention averaged over tokens)
    quality: np.ndarray  # (Q, M) predicted quality in [0, 1]
    cost: np.ndarray  # (Q, M) predicted USD
    input_tokens: np.ndarray  # (Q,) estimated prompt tokens
    answer_tokens: np.ndarray  # (Q, M) predicted (or typical) answer tokens
    attention: list[np.ndarray] = field(repr=False)  # per query (L_i, M): token × candidate attention

    def rows(self, index) -> "Scores":
        """These scores for the queries at `index` (a list of positions), in that order."""
        index = list(index)
        return Scores([self.queries[i] for i in index], list(self.candidates), self.weights[index], self.quality[index],
                      self.cost[index], self.input_tokens[index], self.answer_tokens[index],
                      [self.attention[i] for i in index])

    def only(self, names: list[str]) -> "Scores":
        """These scores for `names` alone, in that order (a labelled set that lacks some of the router's models)."""
        missing = [n for n in names if n not in self.candidates]
        if missing:
            raise RouterInputError(f"the router has no model {missing[0]!r}; its models are {', '.join(self.candidates)}")
        columns = [self.candidates.index(n) for n in names]

        def pick(array):
            return np.ascontiguousarray(array[:, columns])  # column indexing can leave Fortran order behind
        return Scores(self.queries, list(names), pick(self.weights), pick(self.quality), pick(self.cost),
                      self.input_tokens, pick(self.answer_tokens), [pick(a) for a in self.attention])


def _refuse_non_finite(raw: dict[str, RawScore], text_of: dict[str, str]) -> None:
    """Routing on a NaN or infinite prediction would pick a model silently at random: refuse it instead."""
    for key, score in raw.items():
        if not all(np.all(np.isfinite(part)) for part in score[:3]):
            text = text_of[key]
            raise RouterInputError(f"the router predicted a non-finite score for the query {text[:40]!r}{'…' if len(text) > 40 else ''}; "
                                   f"its weights are damaged: train it again")


class ScoringPipeline:
    """Texts -> Scores for one fitted network, quality stage and pricing. Thread-safe; caches are its own."""

    memory_cache_size = 50000  # distinct queries whose scores stay in memory (LRU); 0 keeps none

    def __init__(self, encoder: Encoder, net: RouterNet, quality: QualityStage | None, pricing: Pricing,
                 encoder_state: dict[str, torch.Tensor] | None = None, scorer=None):
        self.encoder, self.net, self.quality, self.pricing = encoder, net, quality, pricing
        self.encoder_state = dict(encoder_state or {})  # tuned top encoder layers, saved with the router
        self._scorer = scorer  # None: torch
        self._cache: OrderedDict[str, RawScore] = OrderedDict()
        self._lock = threading.Lock()
        self._disk: ScoreCache | None = None
        self._id: str | None = None

    def replaced(self, **parts) -> "ScoringPipeline":
        """A pipeline with some parts swapped (encoder, net, quality, pricing, encoder_state, scorer).

        Its memory cache starts empty; the disk cache, keyed by each pipeline's own id, stays attached.
        """
        current = {"encoder": self.encoder, "net": self.net, "quality": self.quality, "pricing": self.pricing,
                   "encoder_state": self.encoder_state, "scorer": self._scorer}
        unknown = sorted(set(parts) - set(current))
        if unknown:
            raise TypeError(f"unknown pipeline part(s): {', '.join(unknown)}")
        twin = ScoringPipeline(**{**current, **parts})
        twin._disk = self._disk
        return twin

    # ------------------------------------------------------------ identity and backend

    def tensors(self) -> dict[str, np.ndarray]:
        """Every learned array behind the scores: network, tuned encoder layers, quality stage."""
        arrays = {f"net.{k}": v.detach().contiguous().numpy() for k, v in self.net.state_dict().items()}
        arrays.update({f"encoder.{k}": v.detach().contiguous().numpy() for k, v in self.encoder_state.items()})
        if self.quality is not None:
            arrays.update({f"quality.{k}": v for k, v in self.quality.to_tensors().items()})
        return arrays

    @property
    def id(self) -> str:
        """Digest of everything that shapes a raw score: the part of the score-cache key that says which router scored."""
        if self._id is None:
            h = hashlib.sha256()
            for name, array in sorted(self.tensors().items()):
                h.update(name.encode())
                h.update(np.ascontiguousarray(array).tobytes())
            h.update(json.dumps(self.quality.weights() if self.quality is not None else None, sort_keys=True).encode())
            self._id = h.hexdigest()[:16]
        return self._id

    def scorer(self):
        return self._scorer or TorchScorer(self.encoder, self.net)

    @property
    def backend(self) -> str:
        """"torch", "onnx-fp32" or "onnx-int8": what computes the raw scores."""
        return self.scorer().name.split(":")[0]

    @property
    def scorer_id(self) -> str:
        """Router digest plus backend: int8 scores differ slightly from fp32 ones, so the disk cache keeps them apart."""
        return f"{self.id}/{self.scorer().name}"

    def attach_disk_cache(self, path: str | Path | None) -> None:
        """Keep scores in an SQLite file too (None detaches): a file or a folder to hold `scores.sqlite`."""
        if path is None:
            self._disk = None
            return
        path = Path(path)
        self._disk = ScoreCache(path / CACHE_FILE if path.is_dir() else path)

    # ------------------------------------------------------------ scoring

    def raw(self, queries: list[str], batch_size: int = 64, progress=None) -> list[RawScore]:
        """Per query (weights, quality, raw cost, attention, mean state); each distinct text is scored once.

        Looks in memory (bounded LRU), then in the disk cache if attached, and encodes only what neither holds.
        """
        keys = [text_key(q) for q in queries]
        with self._lock:
            found = {k: self._cache[k] for k in keys if k in self._cache}
        todo = list(dict.fromkeys(k for k in keys if k not in found))
        if todo:
            fresh = self._disk.get_many(self.scorer_id, todo) if self._disk is not None else {}
            unscored = [k for k in todo if k not in fresh]
            if unscored:
                text_of = dict(zip(keys, queries))
                computed = self._with_quality_stage(dict(zip(unscored, self.scorer().score([text_of[k] for k in unscored], batch_size, progress))))
                _refuse_non_finite(computed, text_of)
                if self._disk is not None:
                    self._disk.put_many(self.scorer_id, computed)
                fresh.update(computed)
            found.update(fresh)
            with self._lock:
                for key in todo:
                    self._cache[key] = found[key]
                while len(self._cache) > self.memory_cache_size:
                    self._cache.popitem(last=False)
        return [found[k] for k in keys]

    def _with_quality_stage(self, raw: dict[str, RawScore]) -> dict[str, RawScore]:
        """The network's quality replaced by the quality stage's, from each query's mean token state."""
        if self.quality is None or not raw:
            return raw
        keys = list(raw)
        quality = self.quality.predict(np.stack([raw[k].quality for k in keys]), np.stack([raw[k].mean_state for k in keys]))
        # float32, as the disk cache stores it: fresh and cached scores must be the same numbers.
        return {k: raw[k]._replace(quality=quality[i].astype(np.float32)) for i, k in enumerate(keys)}

    def scores(self, queries: list[str] | str, catalog: Catalog | None = None, progress=None) -> Scores:
        """Predicted weights, quality and cost for each query.

        Args:
            catalog: price with these prices instead of the router's own (re-pricing needs no retraining).
            progress: callable(done, total) while encoding.
        """
        queries = [queries] if isinstance(queries, str) else list(queries)
        for i, q in enumerate(queries):
            if not isinstance(q, str) or not q.strip():
                raise RouterInputError(f"query {i + 1} is empty; a query needs some text")
        raw = self.raw(queries, progress=progress)
        if not raw:
            m = len(self.pricing.candidates)
            empty = np.zeros((0, m))
            return Scores([], list(self.pricing.candidates), empty, empty, empty, np.zeros(0), empty, [])
        input_tokens = np.array([estimate_tokens(q) for q in queries], dtype=float)
        cost, answer_tokens = self.pricing.price(np.stack([r.cost for r in raw]), input_tokens, catalog)
        if not np.all(np.isfinite(cost)):
            row = int(np.argwhere(~np.isfinite(cost))[0, 0])
            raise RouterInputError(f"query {row + 1}: the predicted cost is not a finite number at these prices; check the "
                                   f"catalog's prices or train the router again")
        return Scores(queries, list(self.pricing.candidates), np.stack([r.weights for r in raw]).astype(np.float64),
                      np.stack([r.quality for r in raw]).astype(np.float64), cost, input_tokens, answer_tokens,
                      [r.attention for r in raw])

    def sentence_embeddings(self, queries: list[str]) -> np.ndarray:
        """(Q, d) mean token states of this pipeline's encoder: what the quality stage reads."""
        return sentence_embeddings(self.encoder.token_states(queries))
