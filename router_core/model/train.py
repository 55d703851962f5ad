"""The training loop. It knows RouterNet's outputs and the loss, nothing about files, catalogs or λ policies."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from router_core.config import TrainingConfig


@dataclass
class TrainingTargets:
    """Per-(query, candidate) training targets, all (Q, M) float32."""

    quality: np.ndarray  # in [0, 1]
    cost: np.ndarray  # standardised log cost (or log output tokens)
    cost_norm: np.ndarray  # CostScale-normalised cost, for the cost-aware routing term


def routing_loss(outputs: dict, quality: torch.Tensor, cost: torch.Tensor, cost_norm: torch.Tensor,
                 config: TrainingConfig, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
    """Quality + cost prediction loss, plus the routing terms on the attention weights (docs/design.md, "The network")."""
    quality_loss = nn.functional.binary_cross_entropy_with_logits(outputs["quality_logit"], quality)
    cost_loss = nn.functional.smooth_l1_loss(outputs["cost"], cost)
    weights = outputs["weights"].clamp(min=1e-9)  # (B, M)
    target = torch.softmax(quality / config.routing_temperature, dim=1)  # the best candidates, softly
    route_loss = -(target * weights.log()).sum(dim=1).mean()
    lam = torch.rand((), generator=generator)  # the cost-aware term should hold across the whole λ range
    cost_aware = -(weights * (quality - lam * cost_norm)).sum(dim=1).mean()
    total = (config.quality_loss_weight * quality_loss + config.cost_loss_weight * cost_loss
             + config.routing_loss_weight * route_loss + config.cost_aware_weight * cost_aware)
    return total, {"quality": quality_loss.item(), "cost": cost_loss.item(), "routing": route_loss.item()}


def length_bucketed(order: np.ndarray, lengths: np.ndarray, batch_size: int, rng: np.random.Generator,
                    pool_batches: int = 16) -> list[np.ndarray]:
    """Batches of `order` (already shuffled) in which queries have similar lengths, in random batch order.

    Pools of `pool_batches` batches are sorted by length and cut: a batch pads to its longest query, and on randomly
    drawn real prompts (a long tail of long ones) that padding was ~2.6 times the real tokens.
    """
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def train_net(net: nn.Module, batch_inputs: Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]],
              targets: TrainingTargets, train_index: np.ndarray, validation_index: np.ndarray,
              config: TrainingConfig, extra_params: list[nn.Parameter] | None = None,
              trainable: list[nn.Parameter] | None = None, progress: Callable[[int, int, dict], None] | None = None,
              show_bar: bool = True, lengths: np.ndarray | None = None, extra_modules: list[nn.Module] = ()) -> dict:
    """Train with Adam, early-stopped on validation loss; the best epoch's weights are restored.

    With no validation rows it runs exactly `config.epochs` epochs and keeps the last weights (a final fit on every
    row, its epoch count chosen by earlier early-stopped fits).

    Args:
        batch_inputs: query indices -> (states (B, L, d), mask (B, L)); recomputes the encoder when it is being tuned.
        trainable: parameters to train (default: all of net); extra_params: encoder layers being fine-tuned.
        extra_modules: modules switched between train and eval mode with the net (the tuned encoder: its dropout
            must be off when the validation loss is measured).
        progress: callable(epoch, max_epochs, metrics) after each epoch, for a dashboard bar.
        lengths: per-query token counts; when given, each batch is drawn from queries of similar length (see
            `length_bucketed`), for training that runs encoder layers, where padding is most of the compute.
    Returns:
        history: per-epoch losses, best epoch, seconds.
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    params = list(trainable if trainable is not None else net.parameters()) + list(extra_params or [])
    optimiser = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    tensors = {name: torch.from_numpy(np.asarray(getattr(targets, name), dtype=np.float32)) for name in ("quality", "cost", "cost_norm")}

    def set_training(mode: bool) -> None:
        for module in (net, *extra_modules):
            module.train(mode)

    def evaluate(index: np.ndarray) -> float:
        set_training(False)
        total, count = 0.0, 0
        if lengths is not None:
            index = index[np.argsort(lengths[index], kind="stable")]  # less padding; the loss is a sum, order-free
        with torch.no_grad():
            for start in range(0, len(index), 256):
                idx = index[start:start + 256]
                states, mask = batch_inputs(idx)
                loss, parts = routing_loss(net(states, mask), *(tensors[n][idx] for n in ("quality", "cost", "cost_norm")),
                                           config, torch.Generator().manual_seed(0))
                total += parts["quality"] * len(idx)
                count += len(idx)
        return total / max(count, 1)

    stopping = len(validation_index) > 0
    history = {"epochs": [], "best_epoch": 0, "best_validation_loss": float("inf")}
    best_state, best_extra, since_best = None, None, 0
    started = time.perf_counter()
    bar = tqdm(range(1, config.epochs + 1), desc="training router", unit="epoch", disable=not show_bar, leave=False)
    for epoch in bar:
        set_training(True)
        order = rng.permutation(train_index)
        batches = ([order[start:start + config.batch_size] for start in range(0, len(order), config.batch_size)]
                   if lengths is None else length_bucketed(order, lengths, config.batch_size, rng))
        train_loss = 0.0
        for idx in batches:
            states, mask = batch_inputs(idx)
            loss, _ = routing_loss(net(states, mask), *(tensors[n][idx] for n in ("quality", "cost", "cost_norm")), config, generator)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            train_loss += loss.item() * len(idx)
        validation_loss = evaluate(validation_index) if stopping else float("nan")
        record = {"epoch": epoch, "train_loss": train_loss / len(order), "validation_loss": validation_loss}
        history["epochs"].append(record)
        bar.set_postfix(val=f"{validation_loss:.4f}")
        if not stopping:
            history["best_epoch"] = epoch
        elif validation_loss < history["best_validation_loss"] - 1e-5:
            history["best_validation_loss"], history["best_epoch"], since_best = validation_loss, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
            best_extra = [p.detach().clone() for p in extra_params or []]
        else:
            since_best += 1
        if progress is not None:
            progress(epoch, config.epochs, record)
        if stopping and since_best >= config.patience:
            break
    bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
        with torch.no_grad():
            for p, best in zip(extra_params or [], best_extra):
                p.copy_(best)
    set_training(False)
    history["seconds"] = time.perf_counter() - started
    return history
