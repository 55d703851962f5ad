"""CrossRoute's library: a cross-attention LLM router with a λ quality/cost knob. No Streamlit in here."""
from .catalog import Candidate, Catalog
from .config import RouterConfig
from .data import LabelledSet, load_catalog, load_labelled, load_request_log
from .errors import RouterInputError
from .router import RouteDecision, Router, Scores, SweepResult

__all__ = ["Candidate", "Catalog", "RouterConfig", "LabelledSet", "load_catalog", "load_labelled", "load_request_log",
           "RouterInputError", "RouteDecision", "Router", "Scores", "SweepResult"]
