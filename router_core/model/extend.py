"""Adding a candidate LLM to a trained router from a few labelled queries: only the new candidate's own rows are trained."""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch
from torch import nn

from router_core.data.catalog import Candidate
from router_core.data.labelled import LabelledSet
from router_core.errors import RouterInputError
from router_core.model.encoder import pad_states
from router_core.policy.rule import CostScale


def add_candidate(router, samples: LabelledSet, candidate: Candidate | None = None, epochs: int = 300,
                  learning_rate: float = 1e-2, seed: int = 0):
    """A new router with one more candidate: its capability embedding, read-out row and bias are trained; every
    existing weight stays frozen. With a quality stage, the newcomer's quality also leans on the other models' (its
    labels regressed on their predictions for the same queries; see quality/peer.py).

    Args:
        samples: labelled rows of the new candidate only (one model column), e.g. 25–200 queries.
        candidate: its catalog entry (prices); needed when the router prices costs from its catalog.
    Returns:
        a new Router (the given one is left untouched), whose training record lists the samples used.
    """
    pipeline = router.parts.pipeline
    if len(samples.candidates) != 1:
        raise RouterInputError(f"{samples.source}: rows for exactly one new model are needed, found {', '.join(samples.candidates)}")
    name = samples.candidates[0]
    if name in router.candidates:
        raise RouterInputError(f"{samples.source}: {name!r} is already a candidate of this router")
    if len(samples) < 5:
        raise RouterInputError(f"{samples.source}: {len(samples)} labelled queries is too few; give at least 5 (25+ recommended)")
    pricing = pipeline.pricing.with_candidate(name, candidate)
    cost_target = torch.tensor(pipeline.pricing.standardise(samples.cost, samples.output_tokens)[:, 0], dtype=torch.float32)

    net = copy.deepcopy(pipeline.net)
    for p in net.parameters():
        p.requires_grad_(False)
    existing = net.candidate_embeddings.detach()  # (M, a)
    readouts, biases = net.candidate_readout.detach(), net.candidate_bias.detach()  # (M, d), (M,)
    torch.manual_seed(seed)
    # The new candidate's own rows, each started from the average candidate.
    row = nn.Parameter(existing.mean(dim=0, keepdim=True).clone())
    readout_row = nn.Parameter(readouts.mean(dim=0, keepdim=True).clone())
    bias_row = nn.Parameter(biases.mean().reshape(1).clone())
    states, mask = pad_states(pipeline.encoder.token_states(samples.queries))
    quality_target = torch.tensor(samples.quality[:, 0], dtype=torch.float32)
    optimiser = torch.optim.Adam([row, readout_row, bias_row], lr=learning_rate)
    net.eval()  # dropout off: with a handful of queries it only adds noise
    for _ in range(epochs):
        out = net(states, mask, candidate_embeddings=torch.cat([existing, row]),
                  candidate_readout=torch.cat([readouts, readout_row]), candidate_bias=torch.cat([biases, bias_row]))
        loss = (nn.functional.binary_cross_entropy_with_logits(out["quality_logit"][:, -1], quality_target)
                + router.config.training.cost_loss_weight * nn.functional.smooth_l1_loss(out["cost"][:, -1], cost_target))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.candidate_embeddings = nn.Parameter(torch.cat([existing, row.detach()]), requires_grad=False)
    net.candidate_readout = nn.Parameter(torch.cat([readouts, readout_row.detach()]), requires_grad=False)
    net.candidate_bias = nn.Parameter(torch.cat([biases, bias_row.detach()]), requires_grad=False)

    mean_cost = float(np.log(max(float(np.mean(samples.cost[:, 0])), 1e-12)))
    cost_scale = CostScale(min(router.cost_scale.log_min, mean_cost), max(router.cost_scale.log_max, mean_cost))
    record = dataclasses.replace(router.training, added=(*router.training.added,
                                                         {"candidate": name, "n_queries": len(samples), "final_loss": float(loss.item())}))
    quality = None
    if pipeline.quality is not None:  # the newcomer's neighbour evidence is its own labelled samples
        # Its levels are set as offsets from what the existing models are predicted to score on the same queries.
        others_quality = router.scores(samples.queries).quality  # (n, M)
        quality = pipeline.quality.with_candidate(pipeline.sentence_embeddings(samples.queries), samples.quality[:, 0], others_quality)
    # The extended network has other weights than any ONNX export: it scores with torch.
    extended = pipeline.replaced(net=net, quality=quality, pricing=pricing, scorer=None)
    scores = extended.scores(samples.queries)
    quality_scores = scores.quality
    if quality is not None:
        # Peer evidence: the newcomer's labels regressed on the other models' predicted quality. Only its column
        # changes, so the samples' scores are updated in place rather than encoded again.
        quality = quality.with_peer(quality_scores[:, :-1], samples.quality[:, 0])
        quality_scores = quality.peer.apply(quality_scores, [len(pricing.candidates) - 1])
        extended = extended.replaced(quality=quality)
    # The slider's spread (κ) was fitted for the old candidates; refit it so λ still moves cost evenly.
    return router.with_parts(pipeline=extended, cost_scale=cost_scale.with_even_steps(quality_scores, scores.cost), record=record)
