"""CrossRoute's library: a cross-attention LLM router with a λ quality/cost knob. No Streamlit in here."""
from .catalog import Candidate, Catalog
from .config import ModelConfig, PolicyConfig, RouterConfig, TrainingConfig
from .data import LabelledSet, load_catalog, load_labelled, load_request_log
from .errors import RouterInputError
from .policy import Policy
from .router import RouteDecision, Router, SweepResult
from .scoring import Scores

__all__ = ["Candidate", "Catalog", "ModelConfig", "PolicyConfig", "RouterConfig", "TrainingConfig", "LabelledSet",
           "load_catalog", "load_labelled", "load_request_log", "RouterInputError", "Policy", "RouteDecision", "Router",
           "Scores", "SweepResult"]
