"""The public facade: Router(config).fit(labelled set, catalog) -> route / sweep / save / load."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .catalog import Catalog
from .config import RouterConfig
from .data import LabelledSet
from .blend import QualityBlend, fit_blend
from .encoder import Encoder, estimate_tokens, pad_states, sentence_embeddings, text_key
from .errors import RouterInputError
from .net import RouterNet
from .onnx_backend import choose_variant, load_onnx_scorer
from .policy import CostScale, check_lam, hard_choice, soft_cost, soft_quality_band, soft_top_k, utilities
from .scorer import RawScore, TorchScorer
from .score_cache import CACHE_FILE, ScoreCache
from .train import TrainingTargets, train_net

FORMAT_VERSION = 1
CONFIG_FILE = "router.json"
WEIGHTS_FILE = "router.safetensors"


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
    cost_norm: np.ndarray  # (Q, M) CostScale-normalised predicted cost
    input_tokens: np.ndarray  # (Q,) estimated prompt tokens
    answer_tokens: np.ndarray  # (Q, M) predicted (or typical) answer tokens
    attention: list[np.ndarray] = field(repr=False)  # per query (L_i, M): token × candidate attention


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

    @property
    def candidate(self) -> str:
        return self.candidates[0]

    def to_dict(self) -> dict:
        return {"query": self.query, "lambda": self.lam, "policy": self.policy, "routing": "hard" if len(self.candidates) == 1 else "soft",
                "candidates": list(self.candidates), "merge_weights": list(self.merge_weights), "aggregator": self.aggregator,
                "predicted_cost_usd": self.predicted_cost_usd,
                "predicted_quality": {"low": self.predicted_quality_low, "high": self.predicted_quality_high,
                                      "note": "predicted by the router" + ("; soft routing: estimated band (weighted mean … best of k)" if len(self.candidates) > 1 else "")},
                "per_candidate": self.per_candidate}


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


def _digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def labelled_digest(data: LabelledSet) -> str:
    h = hashlib.sha256()
    for qid, q in zip(data.query_ids, data.queries):
        h.update(f"{qid}\x1f{q}\x1e".encode())
    h.update(np.ascontiguousarray(data.quality, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(data.cost, dtype=np.float64).tobytes())
    return h.hexdigest()


def staging_folder(folder: Path) -> Path:
    """An empty temporary folder beside `folder`, on the same file system so it can be renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))


def swap_into_place(staging: Path, folder: Path) -> None:
    """Replace `folder` by the fully written `staging` with renames: readers see the old artifact or the new, never half."""
    try:
        os.chmod(staging, 0o755)
        if folder.exists():
            retired = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, retired)
            os.replace(staging, folder)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class Router:
    """Cross-attention LLM router. `Router(config)` stores the config only; `fit` or `load` build it.

    λ is an argument of every call and never stored: one router object may serve many users at once.
    """

    memory_cache_size = 50000  # distinct queries whose scores stay in memory (LRU); 0 keeps none

    def __init__(self, config: RouterConfig | None = None):
        self.config = config or RouterConfig()

    # ------------------------------------------------------------ fitting

    def fit(self, data: LabelledSet, catalog: Catalog | None = None, encoder: Encoder | None = None,
            progress=None, show_bar: bool = True) -> "Router":
        """Train from scratch on a labelled set. Returns self.

        Args:
            catalog: prices of the candidates. With it, and token counts in the data, the cost head predicts answer
                length and costs follow the catalog (re-pricing needs no retraining); without, it predicts USD directly.
            encoder: a loaded Encoder to share (default: load `config.encoder`).
            progress: callable(stage, done, total) for a progress bar; stage is "encoding" or "training".
        """
        config = self.config
        started = time.perf_counter()
        if len(data) < 10:
            raise RouterInputError(f"{data.source}: {len(data)} queries is too few to train on; at least 10 are needed")
        self.encoder_ = encoder.stock() if encoder is not None else Encoder.load(config.encoder, config.max_tokens)
        # Tuning needs data (config.finetune_min_queries): with fewer queries the encoder stays frozen.
        tune = config.finetune_layers if len(data) >= config.finetune_min_queries else 0
        if tune and encoder is not None:
            self.encoder_ = self.encoder_.copy()  # tuning changes weights: never those of an encoder shared with other routers
        self.encoder_.max_tokens = config.max_tokens
        self.candidates_ = list(data.candidates)
        self.catalog_ = catalog.subset(self.candidates_) if catalog is not None else None
        if catalog is not None:
            missing = [c for c in self.candidates_ if c not in catalog.names]
            if missing:
                raise RouterInputError(f"{data.source}: model(s) {', '.join(missing)} are not in the catalog ({', '.join(catalog.names)})")
        self.cost_scale_ = CostScale.from_costs(data.cost)
        self.cost_mode_ = "tokens" if (self.catalog_ is not None and data.output_tokens is not None) else "usd"
        raw_cost = np.log1p(data.output_tokens) if self.cost_mode_ == "tokens" else np.log(np.maximum(data.cost, 1e-12))
        self.cost_standardise_ = (float(raw_cost.mean()), float(raw_cost.std() + 1e-6))
        targets = TrainingTargets(data.quality.astype(np.float32),
                                  ((raw_cost - self.cost_standardise_[0]) / self.cost_standardise_[1]).astype(np.float32),
                                  self.cost_scale_.normalise(data.cost).astype(np.float32))

        torch.manual_seed(config.seed)
        self.net_ = RouterNet(self.encoder_.dim, len(self.candidates_), config.attention_dim, config.hidden_dim, config.dropout,
                              config.pooled_feature)
        encoder_params = self.encoder_.encoder_trainable(tune)
        bar = (lambda done, total: progress("encoding", done, total)) if progress else None
        if encoder_params:
            lower = self.encoder_.lower_states(data.queries, tune, progress=bar)
            batch_inputs = self._tuning_batches(lower, tune)
        else:
            states = self.encoder_.token_states(data.queries, progress=bar)
            batch_inputs = lambda idx: pad_states([states[i] for i in idx])  # noqa: E731
        order = np.random.default_rng(config.seed).permutation(len(data))
        n_validation = max(2, int(round(len(data) * config.validation_fraction)))
        validation_index, train_index = np.sort(order[:n_validation]), np.sort(order[n_validation:])

        epoch_bar = (lambda epoch, total, record: progress("training", epoch, total)) if progress else None
        self.history_ = train_net(self.net_, batch_inputs, targets, train_index, validation_index, config,
                                  extra_params=encoder_params, progress=epoch_bar, show_bar=show_bar,
                                  lengths=np.array([s.shape[0] for s in lower]) if encoder_params else None,
                                  extra_modules=[self.encoder_.model] if encoder_params else [])
        self.encoder_.model.eval()
        self.encoder_.encoder_trainable(0)
        self.encoder_state_ = self.encoder_.top_layer_state(tune) if encoder_params else {}
        if encoder_params:
            self.encoder_.tuned = True
            self.encoder_.clear_cache()  # cached states came from the untuned encoder
            self.encoder_.prime(data.queries, lower, tune)  # the blend needs them all: one layer, not six
        self._reset_cache()
        self.__dict__.pop("_router_id", None)
        self.blend_record_ = None
        final_blend, self.blend_ = self._fit_blend(data, validation_index) if config.blend else (None, None)
        train_scores = self.scores([data.queries[i] for i in train_index])
        self.cost_scale_ = self.cost_scale_.with_even_steps(train_scores.quality, train_scores.cost)
        validation_metrics = self._validation_metrics(data.subset(validation_index))
        self.blend_ = final_blend
        self._reset_cache()
        self.training_ = {"data_digest": labelled_digest(data), "data_source": str(data.source), "n_queries": len(data),
                          "n_train": int(len(train_index)), "n_validation": int(len(validation_index)),
                          "seconds": round(time.perf_counter() - started, 2), "best_epoch": self.history_["best_epoch"],
                          "finetuned_layers": tune,
                          "epochs_run": len(self.history_["epochs"]),
                          "validation": validation_metrics, "blend": getattr(self, "blend_record_", None)}
        return self

    def _fit_blend(self, data: LabelledSet, validation_index: np.ndarray):
        """Blend weights chosen on the validation split (see blend.py). Returns (blend, blend without validation rows)."""
        self.blend_ = None
        self._reset_cache()
        validation = data.subset(validation_index)
        network = self.scores(validation.queries)  # the network alone: it never trained on these rows

        def validation_aiq(quality: np.ndarray) -> float:
            return self._curve_metrics(quality, network.cost, validation).get("aiq", float("nan"))

        embeddings = sentence_embeddings(self.encoder_.token_states(data.queries))
        final, inner, self.blend_record_ = fit_blend(network.quality, embeddings, data.quality, validation_index, validation_aiq,
                                                       categories=data.categories)
        self._reset_cache()
        return final, inner

    def _tuning_batches(self, lower: list[np.ndarray], top_layers: int):
        """Batches for fine-tuning: the frozen layers' output is computed once, only the tuned layers run per step."""
        def batch_inputs(idx):
            states, mask = pad_states([lower[i] for i in idx])
            return self.encoder_.top_forward(states, mask, top_layers), mask
        return batch_inputs

    def _validation_metrics(self, validation: LabelledSet) -> dict:
        scores = self.scores(validation.queries)
        metrics = {"quality_mae": float(np.abs(scores.quality - validation.quality).mean()),
                   "cost_median_abs_log_error": float(np.median(np.abs(np.log(scores.cost) - np.log(np.maximum(validation.cost, 1e-12)))))}
        metrics.update(self._curve_metrics(scores.quality, scores.cost, validation))
        return metrics

    def _curve_metrics(self, quality: np.ndarray, cost: np.ndarray, validation: LabelledSet) -> dict:
        """AIQ and friends of these predictions, measured on `validation`'s labels."""
        from .evaluate import RoutingData, compare, curve_from_scores, default_lams

        routing = RoutingData(np.zeros((len(validation), 1), np.float32), validation.quality, validation.cost, list(self.candidates_))
        curve = curve_from_scores(quality, cost, routing, default_lams(), self.cost_scale_)
        row = compare({"router": curve}, routing).loc["router"]
        return {k: float(row[k]) for k in ("aiq", "max_quality", "cost_at_best_single") if k in row}

    # ------------------------------------------------------------ scoring

    def _check_fitted(self):
        if not hasattr(self, "net_"):
            raise RouterInputError("this router is not trained: call fit() or Router.load(folder)")

    def _reset_cache(self):
        self._cache: OrderedDict[str, RawScore] = OrderedDict()
        self._cache_lock = threading.Lock()
        # The weights may have changed (fit, add_candidate): an ONNX export and the old digest no longer describe them.
        self.__dict__.pop("_onnx_scorer", None)
        self.__dict__.pop("_router_id", None)

    @property
    def router_id(self) -> str:
        """Digest of the weights: the part of the score-cache key that says which router scored."""
        self._check_fitted()
        if not hasattr(self, "_router_id"):
            h = hashlib.sha256()
            for name, tensor in sorted(self._tensors().items()):
                h.update(name.encode())
                h.update(tensor.detach().contiguous().numpy().tobytes())
            h.update(json.dumps(self.blend_weights(), sort_keys=True).encode())
            self._router_id = h.hexdigest()[:16]
        return self._router_id

    def _scorer(self):
        """The backend that turns texts into raw scores: the ONNX graphs when loaded with them, else torch."""
        return self.__dict__.get("_onnx_scorer") or TorchScorer(self.encoder_, self.net_)

    @property
    def backend(self) -> str:
        """"torch", "onnx-fp32" or "onnx-int8": what computes this router's scores."""
        return self._scorer().name.split(":")[0]

    @property
    def scorer_id(self) -> str:
        """Router digest plus backend: int8 scores differ slightly from fp32 ones, so the disk cache keeps them apart."""
        return f"{self.router_id}/{self._scorer().name}"

    def attach_disk_cache(self, path: str | Path | None) -> "Router":
        """Keep scores in an SQLite file too (None detaches), so a re-opened dashboard or re-run CLI does not re-encode.

        Args:
            path: the SQLite file (created if absent), or an existing folder to hold `scores.sqlite`. One file can serve
                many routers, threads and processes: entries are keyed by `scorer_id` and text.
        """
        if path is None:
            self._disk_cache = None
            return self
        path = Path(path)
        self._disk_cache = ScoreCache(path / CACHE_FILE if path.is_dir() else path)
        return self

    def _raw_scores(self, queries: list[str], batch_size: int = 64, progress=None) -> list[RawScore]:
        """Per query (weights, quality, raw cost, attention, mean state); each distinct text is scored once.

        Looks in memory (bounded LRU), then in the disk cache if attached, and encodes only what neither holds.
        """
        keys = [text_key(q) for q in queries]
        with self._cache_lock:
            found = {k: self._cache[k] for k in keys if k in self._cache}
        todo_keys = list(dict.fromkeys(k for k in keys if k not in found))
        disk = self.__dict__.get("_disk_cache")
        if todo_keys:
            fresh = disk.get_many(self.scorer_id, todo_keys) if disk is not None else {}
            unscored = [k for k in todo_keys if k not in fresh]
            if unscored:
                text_of = dict(zip(keys, queries))
                computed = self._blended(dict(zip(unscored, self._scorer().score([text_of[k] for k in unscored], batch_size, progress))))
                if disk is not None:
                    disk.put_many(self.scorer_id, computed)
                fresh.update(computed)
            found.update(fresh)
            with self._cache_lock:
                for key in todo_keys:
                    self._cache[key] = found[key]
                while len(self._cache) > self.memory_cache_size:
                    self._cache.popitem(last=False)
        return [found[k] for k in keys]

    def _blended(self, raw: dict[str, RawScore]) -> dict[str, RawScore]:
        """The network's quality replaced by the quality blend (blend.py), from each query's mean token state."""
        blend = getattr(self, "blend_", None)
        if blend is None or not raw:
            return raw
        keys = list(raw)
        quality = blend.apply(np.stack([raw[k].quality for k in keys]), np.stack([raw[k].mean_state for k in keys]))
        # float32, as the disk cache stores it: fresh and cached scores must be the same numbers.
        return {k: raw[k]._replace(quality=quality[i].astype(np.float32)) for i, k in enumerate(keys)}

    def scores(self, queries: list[str] | str, catalog: Catalog | None = None, progress=None) -> Scores:
        """Predicted weights, quality and cost for each query (encoded once, then cached).

        Args:
            catalog: price with these prices instead of the router's own (re-pricing needs no retraining).
        """
        self._check_fitted()
        queries = [queries] if isinstance(queries, str) else list(queries)
        for i, q in enumerate(queries):
            if not isinstance(q, str) or not q.strip():
                raise RouterInputError(f"query {i + 1} is empty; a query needs some text")
        raw = self._raw_scores(queries, progress=progress)
        weights = np.stack([r[0] for r in raw]).astype(np.float64)
        quality = np.stack([r[1] for r in raw]).astype(np.float64)
        predicted = np.stack([r[2] for r in raw]).astype(np.float64) * self.cost_standardise_[1] + self.cost_standardise_[0]
        input_tokens = np.array([estimate_tokens(q) for q in queries], dtype=float)
        catalog = self._pricing_catalog(catalog)
        if self.cost_mode_ == "tokens":
            answer_tokens = np.maximum(np.expm1(predicted), 0.0)
            cost = catalog.cost_matrix(input_tokens, answer_tokens)
        else:
            cost = np.exp(predicted)
            if catalog is not None:
                answer_tokens = np.tile([c.typical_output_tokens for c in catalog.candidates], (len(queries), 1)).astype(float)
                if self.catalog_ is not None and catalog is not self.catalog_:  # scale by the change in the typical call's price
                    cost = cost * (catalog.cost_matrix([1000.0]) / np.maximum(self.catalog_.cost_matrix([1000.0]), 1e-15))
            else:
                answer_tokens = np.full_like(cost, np.nan)
        return Scores(queries, list(self.candidates_), weights, quality, cost, self.cost_scale_.normalise(cost),
                      input_tokens, answer_tokens, [r[3] for r in raw])

    def _pricing_catalog(self, catalog: Catalog | None) -> Catalog | None:
        if catalog is None:
            return self.catalog_
        missing = [c for c in self.candidates_ if c not in catalog.names]
        if missing:
            raise RouterInputError(f"catalog: has no price for {', '.join(missing)}")
        return catalog.subset(self.candidates_)

    def predict_quality_cost(self, queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(Q, M) predicted quality and USD cost, columns following `candidates_` (like predict_proba and classes_)."""
        s = self.scores(queries)
        return s.quality, s.cost

    # ------------------------------------------------------------ deciding

    def utilities(self, scores: Scores, lam: float, policy: str = "linear") -> np.ndarray:
        if policy == "linear":
            return utilities(scores.quality, scores.cost_norm, lam, policy)
        # The comparison policies were written for cost on a [0, 1] scale: undo the even-steps weight κ for them.
        unit = scores.cost_norm / self.cost_scale_.weight
        return utilities(scores.quality, unit, lam, policy, scores.weights, self.config.exponential_alpha)

    def decide(self, scores: Scores, lam: float, k: int = 1, policy: str = "linear", catalog: Catalog | None = None) -> list[RouteDecision]:
        """Decisions from already computed scores: pure arithmetic, no encoding."""
        lam = check_lam(lam)
        utility = self.utilities(scores, lam, policy)
        if k == 1:
            indices = hard_choice(utility, scores.cost_norm)[:, None]
            merge = np.ones_like(indices, dtype=float)
            total_cost = np.take_along_axis(scores.cost, indices, axis=1)[:, 0]
            low = high = np.take_along_axis(scores.quality, indices, axis=1)[:, 0]
            aggregator = None
        else:
            catalog = self._pricing_catalog(catalog)
            if catalog is None:
                raise RouterInputError("soft routing needs a catalog with prices for the aggregator; this router has none")
            indices, merge = soft_top_k(utility, k, self.config.soft_temperature)
            aggregator = catalog[catalog.aggregator_name]
            total_cost = soft_cost(scores.cost, indices, scores.input_tokens, scores.answer_tokens,
                                   aggregator.input_usd_per_1m, aggregator.output_usd_per_1m, aggregator.typical_output_tokens)
            low, high = soft_quality_band(scores.quality, indices, merge)
            aggregator = aggregator.name
        decisions = []
        for i, query in enumerate(scores.queries):
            per_candidate = {name: {"weight": float(scores.weights[i, j]), "predicted_quality": float(scores.quality[i, j]),
                                    "predicted_cost_usd": float(scores.cost[i, j]), "utility": float(utility[i, j])}
                             for j, name in enumerate(scores.candidates)}
            decisions.append(RouteDecision(query, lam, policy, tuple(scores.candidates[j] for j in indices[i]),
                                           tuple(float(w) for w in merge[i]), aggregator, float(total_cost[i]),
                                           float(low[i]), float(high[i]), per_candidate))
        return decisions

    def route(self, queries: list[str] | str, lam: float, k: int = 1, policy: str = "linear") -> list[RouteDecision]:
        """Route each query at trade-off λ (0 = quality first, 1 = cost first); k > 1 is soft routing."""
        return self.decide(self.scores(queries), lam, k, policy)

    def sweep(self, queries: list[str], lams, policy: str = "linear") -> SweepResult:
        """Hard decisions over many λ values. Encodes once and re-scores per λ (the slider's fast path)."""
        scores = self.scores(queries)
        return self.sweep_scores(scores, lams, policy)

    def choices(self, scores: Scores, lam: float, policy: str = "linear") -> np.ndarray:
        """(Q,) index into `scores.candidates` of each query's hard choice: `decide` without building per-query records.

        The λ slider's path: a move over 10,000 cached queries is a few vectorised passes.
        """
        return hard_choice(self.utilities(scores, check_lam(lam), policy), scores.cost_norm)

    def sweep_scores(self, scores: Scores, lams, policy: str = "linear") -> SweepResult:
        lams = np.asarray([check_lam(x) for x in np.atleast_1d(lams)])
        choices = np.stack([hard_choice(self.utilities(scores, lam, policy), scores.cost_norm) for lam in lams])
        return SweepResult(lams, choices, scores)

    # ------------------------------------------------------------ artifacts

    def save(self, folder: str | Path) -> Path:
        """Write router.json + router.safetensors to a temporary folder, then rename it into place."""
        self._check_fitted()
        folder = Path(folder)
        staging = staging_folder(folder)
        try:
            save_file(self._tensors(), str(staging / WEIGHTS_FILE))
            meta = {"format_version": FORMAT_VERSION, "config": self.config.to_dict(), "candidates": self.candidates_,
                    "catalog": self.catalog_.to_dict() if self.catalog_ is not None else None,
                    "cost_scale": {"log_min": self.cost_scale_.log_min, "log_max": self.cost_scale_.log_max,
                                   "weight": self.cost_scale_.weight},
                    "cost_mode": self.cost_mode_, "cost_standardise": list(self.cost_standardise_), "blend": self.blend_weights(),
                    "training": self.training_, "history": self.history_,
                    "weights_sha256": _digest_bytes((staging / WEIGHTS_FILE).read_bytes())}
            (staging / CONFIG_FILE).write_text(json.dumps(meta, indent=2, default=float) + "\n")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        swap_into_place(staging, folder)
        return folder

    def _tensors(self) -> dict[str, torch.Tensor]:
        """Every learned array of the router, as saved in router.safetensors."""
        tensors = {f"net.{k}": v.detach().contiguous() for k, v in self.net_.state_dict().items()}
        tensors.update({f"encoder.{k}": v.contiguous() for k, v in self.encoder_state_.items()})
        blend = getattr(self, "blend_", None)
        if blend is not None:
            tensors["blend.memory"] = torch.from_numpy(np.ascontiguousarray(blend.memory, dtype=np.float16))
            tensors["blend.memory_quality"] = torch.from_numpy(np.ascontiguousarray(blend.memory_quality, dtype=np.float16))
            tensors["blend.prior"] = torch.from_numpy(np.ascontiguousarray(blend.prior, dtype=np.float32))
            tensors["blend.linear_coef"] = torch.from_numpy(np.ascontiguousarray(blend.linear_coef, dtype=np.float32))
            tensors["blend.linear_intercept"] = torch.from_numpy(np.ascontiguousarray(blend.linear_intercept, dtype=np.float32))
            if blend.has_peers:  # only routers with an added model carry them, so older artifacts keep their digest
                for name in ("peer_coef", "peer_intercept", "peer_weight"):
                    tensors[f"blend.{name}"] = torch.from_numpy(np.ascontiguousarray(getattr(blend, name), dtype=np.float32))
            if blend.task_types:  # likewise only routers that use the task types
                for name in ("task_coef", "task_intercept", "task_quality"):
                    tensors[f"blend.{name}"] = torch.from_numpy(np.ascontiguousarray(getattr(blend, name), dtype=np.float32))
        return tensors

    def blend_weights(self) -> dict | None:
        """How predicted quality is blended (network, neighbours, linear fit, task type, prior), or None for the network alone."""
        blend = getattr(self, "blend_", None)
        if blend is None:
            return None
        weights = {"net_weight": blend.net_weight, "neighbour_weight": blend.neighbour_weight, "linear_weight": blend.linear_weight,
                   "prior_weight": blend.prior_weight, "n_neighbours": blend.n_neighbours}
        if blend.task_types:  # absent from routers without them, so their artifacts and ids stay as they were
            weights.update(task_type_weight=blend.task_weight, task_types=list(blend.task_types))
        return weights

    @classmethod
    def load(cls, folder: str | Path, encoder: Encoder | None = None, backend: str = "auto",
             cache_dir: str | Path | None = None, threads: int | None = None) -> "Router":
        """Rebuild a saved router; checks the format version and the digests of the weights and ONNX graphs, never unpickles.

        Args:
            backend: "auto" scores with the artifact's ONNX export when it has one (an accepted int8 encoder first),
                else torch; "torch", "onnx", "onnx-fp32" or "onnx-int8" insist on one.
            cache_dir: also keep scores in `cache_dir/scores.sqlite` (see attach_disk_cache).
            threads: ONNX Runtime threads per graph (default: one per core).
        """
        folder = Path(folder)
        meta_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        for path in (meta_path, weights_path):
            if not path.exists():
                raise RouterInputError(f"{folder}: not a router artifact (no {path.name}); train one with `python -m router_core train`")
        try:
            meta = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RouterInputError(f"{meta_path}: not valid JSON ({e})") from e
        if meta.get("format_version") != FORMAT_VERSION:
            raise RouterInputError(f"{meta_path}: format_version {meta.get('format_version')!r}; this CrossRoute reads version {FORMAT_VERSION}")
        weights_bytes = weights_path.read_bytes()
        if _digest_bytes(weights_bytes) != meta.get("weights_sha256"):
            raise RouterInputError(f"{weights_path}: digest does not match router.json (the file is damaged or from another router)")
        try:
            tensors = load_file(str(weights_path))
            router = cls(RouterConfig.from_dict(meta["config"]))
            router.candidates_ = list(meta["candidates"])
            router.catalog_ = Catalog.from_dict(meta["catalog"]) if meta.get("catalog") else None
            router.cost_scale_ = CostScale(**meta["cost_scale"])
            router.cost_mode_ = meta["cost_mode"]
            router.cost_standardise_ = tuple(meta["cost_standardise"])
            router.training_, router.history_ = meta.get("training", {}), meta.get("history", {})
        except (KeyError, TypeError, SafetensorError) as e:
            raise RouterInputError(f"{folder}: router artifact is incomplete or damaged ({type(e).__name__}: {e})") from e
        config = router.config
        variant = choose_variant(meta, folder, backend)
        # With ONNX the torch encoder serves only its tokeniser (and baselines' features, on demand): load its weights late.
        router.encoder_ = encoder or Encoder.load(config.encoder, config.max_tokens, lazy=variant is not None)
        router.net_ = RouterNet(router.encoder_.dim, len(router.candidates_), config.attention_dim, config.hidden_dim, config.dropout,
                                config.pooled_feature)
        net_state = {k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")}
        try:
            router.net_.load_state_dict(net_state)
        except RuntimeError as e:
            raise RouterInputError(f"{weights_path}: weights do not fit router.json's configuration ({str(e).splitlines()[0]})") from e
        router.net_.eval()
        router.blend_ = None
        if meta.get("blend"):
            try:
                weights = meta["blend"]
                router.blend_ = QualityBlend(tensors["blend.memory"].float().numpy(), tensors["blend.memory_quality"].float().numpy().astype(float),
                                             tensors["blend.prior"].numpy().astype(float), float(weights["net_weight"]),
                                             float(weights["neighbour_weight"]), int(weights["n_neighbours"]),
                                             tensors["blend.linear_coef"].numpy(), tensors["blend.linear_intercept"].numpy(),
                                             float(weights["linear_weight"]),
                                             *(tensors[f"blend.{n}"].numpy() if f"blend.{n}" in tensors else None
                                               for n in ("peer_coef", "peer_intercept", "peer_weight")),
                                             **({"task_types": tuple(weights["task_types"]), "task_weight": float(weights["task_type_weight"]),
                                                 **{n: tensors[f"blend.{n}"].numpy() for n in ("task_coef", "task_intercept", "task_quality")}}
                                                if weights.get("task_types") else {}))
            except (KeyError, TypeError, ValueError) as e:
                raise RouterInputError(f"{folder}: router artifact's blend is incomplete ({type(e).__name__}: {e})") from e
        router.encoder_state_ = {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")}
        if router.encoder_state_:
            if encoder is not None:
                router.encoder_ = router.encoder_.copy()  # its tuned layers must not leak into the shared encoder
            router.encoder_.load_tuned_layers(router.encoder_state_)
        router._reset_cache()
        if variant is not None:
            router._onnx_scorer = load_onnx_scorer(folder, meta, variant, router.encoder_.tokenizer, router.encoder_.max_tokens, threads)
        if cache_dir is not None:
            router.attach_disk_cache(Path(cache_dir) / CACHE_FILE)
        return router
