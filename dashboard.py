"""CrossRoute dashboard: the frame. Page config, cached read-only loaders, the shared sidebar, and navigation."""
from pathlib import Path

import streamlit as st

from router_core import Router, RouterInputError

ROOT = Path(__file__).resolve().parent
DEFAULT_ROUTER = ROOT / "sample_data" / "router"

st.set_page_config(page_title="CrossRoute", page_icon="🔀", layout="wide")


@st.cache_resource(show_spinner="Loading the router and its encoder…")
def load_router(folder: str) -> Router:
    # Shared by every session: read-only, and λ is never stored on it.
    return Router.load(folder)


try:
    st.session_state["router"] = load_router(str(DEFAULT_ROUTER))
except RouterInputError as e:
    st.error(str(e))
    st.stop()

router = st.session_state["router"]
with st.sidebar:
    st.caption(f"Router: `{DEFAULT_ROUTER.relative_to(ROOT)}` · {len(router.candidates_)} candidates")
    st.caption("λ: 0 = quality first, 1 = cost first")

st.navigation([st.Page("pages/route_query.py", title="Route a query", icon="🔀")]).run()
