"""Adding a candidate LLM to a trained router from a few labelled queries: only the new candidate's own rows are trained."""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from .catalog import Candidate, Catalog
from .data import LabelledSet
from .encoder import pad_states, sentence_embeddings
from .errors import RouterInputError
from .policy import CostScale


def add_candidate(router, samples: LabelledSet, candidate: Candidate | None = None, epochs: int = 300,
                  learning_rate: float = 1e-2, seed: int = 0):
    """A new router with one more candidate: its capability embedding, read-out row and bias are trained; every
    existing weight stays frozen. With a quality blend, the newcomer's quality also leans on the other models' (its
    labels regressed on their predictions for the same queries; see blend.py).

    Args:
        samples: labelled rows of the new candidate only (one model column), e.g. 25–200 queries.
        candidate: its catalog entry (prices); needed when the router prices costs from its catalog.
    Returns:
        a new Router (the given one is left untouched), with `added_` recording the samples used.
    """
    router._check_fitted()
    if len(samples.candidates) != 1:
        raise RouterInputError(f"{samples.source}: rows for exactly one new model are needed, found {', '.join(samples.candidates)}")
    name = samples.candidates[0]
    if name in router.candidates_:
        raise RouterInputError(f"{samples.source}: {name!r} is already a candidate of this router")
    if len(samples) < 5:
        raise RouterInputError(f"{samples.source}: {len(samples)} labelled queries is too few; give at least 5 (25+ recommended)")
    if router.catalog_ is not None and candidate is None:
        raise RouterInputError(f"adding {name!r}: this router prices costs from its catalog, so give the new model's prices")
    if router.cost_mode_ == "tokens" and samples.output_tokens is None:
        raise RouterInputError(f"{samples.source}: this router predicts answer length, so the rows need output_tokens")

    new = copy.copy(router)
    new.net_ = copy.deepcopy(router.net_)
    for p in new.net_.parameters():
        p.requires_grad_(False)
    existing = new.net_.candidate_embeddings.detach()  # (M, a)
    readouts, biases = new.net_.candidate_readout.detach(), new.net_.candidate_bias.detach()  # (M, d), (M,)
    torch.manual_seed(seed)
    # The new candidate's own rows, each started from the average candidate.
    row = nn.Parameter(existing.mean(dim=0, keepdim=True).clone())
    readout_row = nn.Parameter(readouts.mean(dim=0, keepdim=True).clone())
    bias_row = nn.Parameter(biases.mean().reshape(1).clone())
    states, mask = pad_states(router.encoder_.token_states(samples.queries))
    raw = np.log1p(samples.output_tokens[:, 0]) if router.cost_mode_ == "tokens" else np.log(np.maximum(samples.cost[:, 0], 1e-12))
    cost_target = torch.tensor((raw - router.cost_standardise_[0]) / router.cost_standardise_[1], dtype=torch.float32)
    quality_target = torch.tensor(samples.quality[:, 0], dtype=torch.float32)
    optimiser = torch.optim.Adam([row, readout_row, bias_row], lr=learning_rate)
    new.net_.eval()  # dropout off: with a handful of queries it only adds noise
    for _ in range(epochs):
        out = new.net_(states, mask, candidate_embeddings=torch.cat([existing, row]),
                       candidate_readout=torch.cat([readouts, readout_row]), candidate_bias=torch.cat([biases, bias_row]))
        loss = (nn.functional.binary_cross_entropy_with_logits(out["quality_logit"][:, -1], quality_target)
                + router.config.cost_loss_weight * nn.functional.smooth_l1_loss(out["cost"][:, -1], cost_target))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    new.net_.candidate_embeddings = nn.Parameter(torch.cat([existing, row.detach()]), requires_grad=False)
    new.net_.candidate_readout = nn.Parameter(torch.cat([readouts, readout_row.detach()]), requires_grad=False)
    new.net_.candidate_bias = nn.Parameter(torch.cat([biases, bias_row.detach()]), requires_grad=False)
    new.candidates_ = list(router.candidates_) + [name]
    if router.catalog_ is not None:
        new.catalog_ = Catalog(tuple(router.catalog_.candidates) + (candidate,), router.catalog_.aggregator)
    mean_cost = float(np.mean(samples.cost[:, 0]))
    new.cost_scale_ = CostScale(min(router.cost_scale_.log_min, float(np.log(max(mean_cost, 1e-12)))),
                                max(router.cost_scale_.log_max, float(np.log(max(mean_cost, 1e-12)))))
    new.training_ = {**router.training_, "added": [*router.training_.get("added", []),
                                                   {"candidate": name, "n_queries": len(samples), "final_loss": float(loss.item())}]}
    new.encoder_state_ = router.encoder_state_
    if getattr(router, "blend_", None) is not None:  # the newcomer's neighbour evidence is its own labelled samples
        # Its levels are set as offsets from what the existing models are predicted to score on the same queries.
        others_quality = router.scores(samples.queries).quality  # (n, M)
        new.blend_ = router.blend_.with_candidate(sentence_embeddings(router.encoder_.token_states(samples.queries)),
                                                  samples.quality[:, 0], others_quality)
    new._reset_cache()
    new.__dict__.pop("_router_id", None)
    scores = new.scores(samples.queries)
    quality = scores.quality
    if new.blend_ is not None:
        # Peer evidence: the newcomer's labels regressed on the other models' predicted quality (blend.py). Only its
        # column changes, so the samples' scores are updated in place rather than encoded again.
        new.blend_ = new.blend_.with_peer(quality[:, :-1], samples.quality[:, 0])
        quality = new.blend_.with_peer_evidence(quality, [len(new.candidates_) - 1])
        new._reset_cache()
        new.__dict__.pop("_router_id", None)
    # The slider's spread (κ) was fitted for the old candidates; refit it so λ still moves cost evenly.
    new.cost_scale_ = new.cost_scale_.with_even_steps(quality, scores.cost)
    return new
