"""Training a router from a labelled set: the network, the quality stage, then the cost scale κ. Returns fitted parts."""
from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .catalog import Catalog
from .config import RouterConfig
from .data import LabelledSet
from .encoder import Encoder, pad_states
from .errors import RouterInputError
from .evaluate import measure
from .net import RouterNet
from .policy import CostScale, Policy
from .pricing import Pricing
from .quality import fit_quality_stage
from .scoring import ScoringPipeline
from .train import TrainingTargets, train_net


@dataclass(frozen=True)
class TrainingRecord:
    """What training did, as router.json keeps it: data digest, split sizes, time, validation figures."""

    data_digest: str = ""
    data_source: str = ""
    n_queries: int = 0
    n_train: int = 0
    n_validation: int = 0
    seconds: float = 0.0
    best_epoch: int = 0
    epochs_run: int = 0
    finetuned_layers: int = 0
    validation: dict = field(default_factory=dict)  # measured on the router's own validation split
    quality_stage: dict | None = None  # how the quality stage's weights were chosen (quality/fit.py)
    history: dict = field(default_factory=dict)  # per-epoch losses
    held_out: dict | None = None  # the split a shipped router kept out of training, when it did
    added: tuple = ()  # models added later (extend.py), each {candidate, n_queries, final_loss}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingRecord":
        if not isinstance(data, dict):
            raise RouterInputError(f"training record must be an object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["added"] = tuple(values.get("added", ()))
        return cls(**values)


@dataclass(frozen=True)
class RouterParts:
    """A fitted router's parts: how it scores (pipeline), how λ spreads over cost (κ), and what training did."""

    pipeline: ScoringPipeline
    cost_scale: CostScale
    record: TrainingRecord


def labelled_digest(data: LabelledSet) -> str:
    h = hashlib.sha256()
    for qid, q in zip(data.query_ids, data.queries):
        h.update(f"{qid}\x1f{q}\x1e".encode())
    h.update(np.ascontiguousarray(data.quality, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(data.cost, dtype=np.float64).tobytes())
    return h.hexdigest()


def validation_figures(pipeline: ScoringPipeline, cost_scale: CostScale, validation: LabelledSet) -> dict:
    scores = pipeline.scores(validation.queries)
    _, summary = measure(scores.quality, scores.cost, validation, Policy(cost_scale))
    figures = {"quality_mae": float(np.abs(scores.quality - validation.quality).mean()),
               "cost_median_abs_log_error": float(np.median(np.abs(np.log(scores.cost) - np.log(np.maximum(validation.cost, 1e-12)))))}
    figures.update({k: summary[k] for k in ("aiq", "max_quality", "cost_at_best_single") if k in summary})
    return figures


def fit_parts(data: LabelledSet, config: RouterConfig, catalog: Catalog | None = None, encoder: Encoder | None = None,
              progress=None, show_bar: bool = True) -> RouterParts:
    """Train a new router. See Router.fit for the arguments."""
    model, training = config.model, config.training
    started = time.perf_counter()
    if len(data) < 10:
        raise RouterInputError(f"{data.source}: {len(data)} queries is too few to train on; at least 10 are needed")
    if catalog is not None:
        missing = [c for c in data.candidates if c not in catalog.names]
        if missing:
            raise RouterInputError(f"{data.source}: model(s) {', '.join(missing)} are not in the catalog ({', '.join(catalog.names)})")
    enc = encoder.stock() if encoder is not None else Encoder.load(model.encoder, model.max_tokens)
    # Tuning needs data (training.finetune_min_queries): with fewer queries the encoder stays frozen.
    tune = training.finetune_layers if len(data) >= training.finetune_min_queries else 0
    if tune and encoder is not None:
        enc = enc.copy()  # tuning changes weights: never those of an encoder shared with other routers
    enc.max_tokens = model.max_tokens
    pricing, cost_target = Pricing.fit(data.candidates, catalog.subset(list(data.candidates)) if catalog is not None else None,
                                       data.cost, data.output_tokens)
    base_scale = CostScale.from_costs(data.cost)
    targets = TrainingTargets(data.quality.astype(np.float32), cost_target.astype(np.float32),
                              base_scale.normalise(data.cost).astype(np.float32))

    torch.manual_seed(training.seed)
    net = RouterNet(enc.dim, len(data.candidates), model.attention_dim, model.hidden_dim, model.dropout)
    encoder_params = enc.encoder_trainable(tune)
    bar = (lambda done, total: progress("encoding", done, total)) if progress else None
    lower = None
    if encoder_params:
        lower = enc.lower_states(data.queries, tune, progress=bar)

        def batch_inputs(idx):  # the frozen layers' output is computed once; only the tuned layers run per step
            states, mask = pad_states([lower[i] for i in idx])
            return enc.top_forward(states, mask, tune), mask
    else:
        states = enc.token_states(data.queries, progress=bar)
        batch_inputs = lambda idx: pad_states([states[i] for i in idx])  # noqa: E731
    order = np.random.default_rng(training.seed).permutation(len(data))
    n_validation = max(2, int(round(len(data) * training.validation_fraction)))
    validation_index, train_index = np.sort(order[:n_validation]), np.sort(order[n_validation:])

    epoch_bar = (lambda epoch, total, record: progress("training", epoch, total)) if progress else None
    history = train_net(net, batch_inputs, targets, train_index, validation_index, training,
                        extra_params=encoder_params, progress=epoch_bar, show_bar=show_bar,
                        lengths=np.array([s.shape[0] for s in lower]) if encoder_params else None,
                        extra_modules=[enc.model] if encoder_params else [])
    enc.model.eval()
    enc.encoder_trainable(0)
    encoder_state = enc.top_layer_state(tune) if encoder_params else {}
    if encoder_params:
        enc.tuned = True
        enc.clear_cache()  # cached states came from the untuned encoder
        enc.prime(data.queries, lower, tune)  # the quality stage needs them all: one layer, not six
    network_only = ScoringPipeline(enc, net, None, pricing, encoder_state)
    validation = data.subset(validation_index)
    final_stage, inner_stage, stage_record = None, None, None
    if training.quality_stage:
        network = network_only.scores(validation.queries)  # the network alone: it never trained on these rows

        def validation_aiq(quality: np.ndarray) -> float:
            return measure(quality, network.cost, validation, Policy(base_scale))[1].get("aiq", float("nan"))

        embeddings = network_only.sentence_embeddings(data.queries)
        final_stage, inner_stage, stage_record = fit_quality_stage(network.quality, embeddings, data.quality, validation_index,
                                                                   validation_aiq, categories=data.categories)
    # κ and the validation figures come from the stage fitted without the validation rows: honest, never seen.
    inner = network_only.replaced(quality=inner_stage)
    train_scores = inner.scores([data.queries[i] for i in train_index])
    cost_scale = base_scale.with_even_steps(train_scores.quality, train_scores.cost)
    figures = validation_figures(inner, cost_scale, validation)
    record = TrainingRecord(labelled_digest(data), str(data.source), len(data), int(len(train_index)), int(len(validation_index)),
                            round(time.perf_counter() - started, 2), history["best_epoch"], len(history["epochs"]), tune,
                            figures, stage_record, history)
    return RouterParts(network_only.replaced(quality=final_stage), cost_scale, record)
