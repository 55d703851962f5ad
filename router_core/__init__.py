"""CrossRoute's library: a cross-attention LLM router with a λ quality/cost knob. No Streamlit in here."""
from router_core.config import ModelConfig, PolicyConfig, RouterConfig, TrainingConfig
from router_core.data.catalog import Candidate, Catalog, load_catalog
from router_core.data.labelled import LabelledSet, load_labelled
from router_core.data.request_log import load_request_log
from router_core.errors import RouterInputError
from router_core.model.scores import Scores
from router_core.policy.rule import Policy
from router_core.router import RouteDecision, Router, SweepResult

__all__ = ["Candidate", "Catalog", "ModelConfig", "PolicyConfig", "RouterConfig", "TrainingConfig", "LabelledSet",
           "load_catalog", "load_labelled", "load_request_log", "RouterInputError", "Policy", "RouteDecision", "Router",
           "Scores", "SweepResult"]
