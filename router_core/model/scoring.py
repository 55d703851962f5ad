"""The scoring pipeline: query texts -> Scores, through a backend (torch or ONNX Runtime), the quality stage and
pricing, with a bounded in-memory cache and an optional SQLite cache so each distinct text is encoded once.

A router that scores with ONNX Runtime holds its torch encoder and network as `Deferred` parts: they are built (and
torch imported) only when something asks for them, such as training, an export or the baselines' features."""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from router_core.data.catalog import Catalog
from router_core.errors import RouterInputError
from router_core.model.pricing import Pricing
from router_core.model.score_cache import CACHE_FILE, ScoreCache
from router_core.model.scores import RawScore, Scores
from router_core.model.text import estimate_tokens, sentence_embeddings, text_key
from router_core.quality import QualityStage


def _refuse_non_finite(raw: dict[str, RawScore], text_of: dict[str, str]) -> None:
    """Routing on a NaN or infinite prediction would pick a model silently at random: refuse it instead."""
    for key, score in raw.items():
        if not all(np.all(np.isfinite(part)) for part in score[:3]):
            text = text_of[key]
            raise RouterInputError(f"the router predicted a non-finite score for the query {text[:40]!r}{'…' if len(text) > 40 else ''}; "
                                   f"its weights are damaged: train it again")


class Deferred:
    """A part built on first use: `build()` returns it."""

    def __init__(self, build):
        self.build = build


class ScoringPipeline:
    """Texts -> Scores for one fitted network, quality stage and pricing. Thread-safe; caches are its own."""

    memory_cache_size = 50000  # distinct queries whose scores stay in memory (LRU); 0 keeps none

    def __init__(self, encoder, net, quality: QualityStage | None, pricing: Pricing, encoder_state=None, scorer=None,
                 weights: dict[str, np.ndarray] | None = None, tokenizer=None):
        """Args:
            encoder, net: the torch Encoder and RouterNet, or a Deferred of each.
            encoder_state: the tuned top encoder layers (torch tensors, saved with the router), or a Deferred.
            scorer: what computes raw scores; None scores with the torch encoder and network.
            weights: the learned arrays behind `net` and `encoder_state` as numpy ("net.*", "encoder.*", as the
                artifact stores them): the router's id without building the network.
            tokenizer: how queries become tokens (model/tokenizer.py); default: the scorer's, else the encoder's.
        """
        self._parts = {"encoder": encoder, "net": net, "encoder_state": encoder_state if encoder_state is not None else {}}
        self._parts_lock = threading.Lock()
        self.quality, self.pricing = quality, pricing
        self._scorer, self._weights, self._tokenizer = scorer, weights, tokenizer
        self._cache: OrderedDict[str, RawScore] = OrderedDict()
        self._lock = threading.Lock()
        self._disk: ScoreCache | None = None
        self._id: str | None = None

    def _part(self, name: str):
        part = self._parts[name]
        if isinstance(part, Deferred):
            with self._parts_lock:
                part = self._parts[name]
                if isinstance(part, Deferred):
                    part = self._parts[name] = part.build()
        return part

    @property
    def encoder(self):
        """The torch Encoder (built on first use when deferred)."""
        return self._part("encoder")

    @property
    def net(self):
        """The torch RouterNet (built on first use when deferred)."""
        return self._part("net")

    @property
    def encoder_state(self) -> dict:
        """Tuned top encoder layers as torch tensors (empty when none were tuned)."""
        return self._part("encoder_state")

    @property
    def tokenizer(self):
        """The tokeniser the scores were computed with: the ONNX scorer's, else one for the encoder's folder."""
        if self._tokenizer is None:
            scorer_tokenizer = getattr(self._scorer, "tokenizer", None)
            if scorer_tokenizer is not None and hasattr(scorer_tokenizer, "words"):
                self._tokenizer = scorer_tokenizer
            else:
                from router_core.model.text import resolve_encoder_path
                from router_core.model.tokenizer import load_tokenizer

                encoder = self.encoder
                self._tokenizer = load_tokenizer(resolve_encoder_path(encoder.name), encoder.max_tokens)
        return self._tokenizer

    def replaced(self, **parts) -> "ScoringPipeline":
        """A pipeline with some parts swapped (encoder, net, quality, pricing, encoder_state, scorer).

        Its memory cache starts empty; the disk cache, keyed by each pipeline's own id, stays attached.
        """
        current = {"encoder": self._parts["encoder"], "net": self._parts["net"], "quality": self.quality,
                   "pricing": self.pricing, "encoder_state": self._parts["encoder_state"], "scorer": self._scorer}
        unknown = sorted(set(parts) - set(current))
        if unknown:
            raise TypeError(f"unknown pipeline part(s): {', '.join(unknown)}")
        same_weights = not ({"net", "encoder_state"} & set(parts))
        same_tokens = "encoder" not in parts and "scorer" not in parts
        twin = ScoringPipeline(**{**current, **parts}, weights=self._weights if same_weights else None,
                               tokenizer=self._tokenizer if same_tokens else None)
        twin._disk = self._disk
        return twin

    # ------------------------------------------------------------ identity and backend

    def tensors(self) -> dict[str, np.ndarray]:
        """Every learned array behind the scores: network, tuned encoder layers, quality stage."""
        if self._weights is not None:
            arrays = dict(self._weights)
        else:
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
        if self._scorer is not None:
            return self._scorer
        from router_core.model.scorer import TorchScorer  # torch: only for a router without an ONNX export

        return TorchScorer(self.encoder, self.net)

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

    def scores(self, queries: list[str] | str, catalog: Catalog | None = None, progress=None, input_tokens=None) -> Scores:
        """Predicted weights, quality and cost for each query.

        Args:
            catalog: price with these prices instead of the router's own (re-pricing needs no retraining).
            progress: callable(done, total) while encoding.
            input_tokens: prompt tokens per query as counted by the caller; default: estimated from each query's text.
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
        if input_tokens is None:
            input_tokens = [estimate_tokens(q) for q in queries]
        input_tokens = np.asarray(input_tokens, dtype=float)
        if input_tokens.shape != (len(queries),) or not np.all(np.isfinite(input_tokens)) or (input_tokens < 0).any():
            raise RouterInputError(f"input_tokens must give a count of 0 or more for each of the {len(queries)} queries")
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
