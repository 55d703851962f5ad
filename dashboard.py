"""CrossRoute dashboard: the frame. Page config, cached read-only loaders, the shared sidebar, and navigation.

Pages read what they need from st.session_state: "router" (read-only, shared), "catalog" (this session's prices),
"sample_dir", and the loader functions below.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import streamlit as st

from router_core import Router, RouterInputError
from router_core.comparison import evaluate_router
from router_core.data import load_labelled, load_request_log
from router_core.schedule import scored_log
from router_core.score_cache import default_cache_dir

ROOT = Path(__file__).resolve().parent
SAMPLE_DIR = ROOT / "sample_data"
DEFAULT_ROUTER = SAMPLE_DIR / "router"
BACKEND_ENV = "CROSSROUTE_BACKEND"  # auto (default), torch, onnx, onnx-fp32 or onnx-int8: see router_core.onnx_backend

st.set_page_config(page_title="CrossRoute", page_icon=":material/alt_route:", layout="wide")


@st.cache_resource(show_spinner="Loading the router and its encoder…")
def load_router(folder: str, backend: str) -> Router:
    # Shared by every session, so read-only: λ, prices and policy are arguments, never stored on it. Scores also go to
    # the user's cache folder, so a restarted dashboard does not encode the sample set and log again.
    return Router.load(folder, backend=backend, cache_dir=default_cache_dir())


@st.cache_resource(show_spinner=False)
def background_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossroute-warm")


def catalog_key(catalog) -> str:
    return hashlib.sha1(json.dumps(catalog.to_dict(), sort_keys=True).encode()).hexdigest()[:12] if catalog else "none"


@st.cache_resource(show_spinner=False)
def sample_evaluation_job(router_id: str, catalog_hash: str, _router, _catalog) -> Future:
    """Router vs baselines on the sample set's held-out split, computed once per router and price list, off the UI thread."""
    def run():
        data = load_labelled(SAMPLE_DIR / "labelled.csv", _router.catalog_)
        return evaluate_router(_router, data, catalog=_catalog)
    return background_pool().submit(run)


@st.cache_resource(show_spinner=False)
def sample_log_job(router_id: str, catalog_hash: str, _router, _catalog) -> Future:
    """The bundled two-week log, each distinct prompt scored once, off the UI thread."""
    def run():
        log = load_request_log(SAMPLE_DIR / "request_log.csv")
        return log, scored_log(log.frame, _router, catalog=_catalog)
    return background_pool().submit(run)


try:
    shared_router = load_router(str(DEFAULT_ROUTER), os.environ.get(BACKEND_ENV) or "auto")
except RouterInputError as e:
    st.error(f"Could not load the default router: {e}. Rebuild it with `python -m router_core sample-data`.")
    st.stop()

router = st.session_state.get("custom_router") or shared_router
st.session_state["router"] = router
st.session_state.setdefault("catalog", router.catalog_)
st.session_state["sample_dir"] = SAMPLE_DIR
st.session_state["catalog_key"] = catalog_key
st.session_state["sample_evaluation_job"] = sample_evaluation_job
st.session_state["sample_log_job"] = sample_log_job
if router is shared_router:  # start the slow sample work now so the pages find it ready
    sample_evaluation_job(router.router_id, catalog_key(router.catalog_), router, router.catalog_)
    sample_log_job(router.router_id, catalog_key(router.catalog_), router, router.catalog_)

with st.sidebar:
    training = router.training_
    name = "custom router (this session)" if router is not shared_router else f"`{DEFAULT_ROUTER.relative_to(ROOT)}`"
    st.markdown(f"**Router:** {name}")
    st.caption(f"{len(router.candidates_)} candidates · trained on {training.get('n_train', '?')} queries "
               f"in {training.get('seconds', 0):.0f} s · best epoch {training.get('best_epoch', '?')} · scored with "
               f"{'ONNX Runtime ' + router.backend.removeprefix('onnx-') if router.backend != 'torch' else 'torch'}")
    validation = training.get("validation", {})
    if validation:
        st.caption(f"On its {training.get('n_validation', '?')} validation queries (measured): AIQ {validation.get('aiq', float('nan')):.3f}, "
                   f"quality error (MAE) {validation.get('quality_mae', float('nan')):.3f}")
    blend = router.blend_weights()
    if blend:
        task_type = (f"{blend['task_type_weight']:.1f}·model's average on the query's task type (one of "
                     f"{len(blend['task_types'])}, predicted from the text) + " if blend.get("task_types") else "")
        st.caption(f"Predicted quality = {blend['net_weight']:.1f}·network + {blend['neighbour_weight']:.1f}·mean of "
                   f"{blend['n_neighbours']} nearest training queries + {blend['linear_weight']:.1f}·linear fit + "
                   f"{task_type}{blend['prior_weight']:.1f}·model's average (weights chosen on the validation queries)")
    if st.session_state["catalog"] is not None:
        st.dataframe(st.session_state["catalog"].to_frame()[["name", "input_usd_per_1m", "output_usd_per_1m"]]
                     .rename(columns={"input_usd_per_1m": "$/1M in", "output_usd_per_1m": "$/1M out"}),
                     hide_index=True, width="stretch")
    lam_note = st.empty()  # filled after the page has run, so it shows this run's λ

pages = [
    st.Page("pages/route_query.py", title="Route a query", icon=":material/alt_route:", url_path="route", default=True),
    st.Page("pages/pareto.py", title="Pareto explorer", icon=":material/show_chart:", url_path="pareto"),
    st.Page("pages/schedule.py", title="Schedule simulator", icon=":material/schedule:", url_path="schedule"),
    st.Page("pages/models.py", title="Models and costs", icon=":material/payments:", url_path="models"),
]
navigation = st.navigation(pages)
# A page opened by its URL as a restarted server's first request runs alone (Streamlit's pages/ folder mode, until
# st.navigation has run once); it sends the browser here, and here it is sent on to that page with the app around it.
resume = st.session_state.pop("resume_page", None)
if resume is not None:
    st.switch_page(next(page for page in pages if page.url_path == resume))
navigation.run()
lam = st.session_state.get("lam", 0.2)
lam_note.caption(f"Current λ = {lam:.2f} ({'quality first' if lam < 0.5 else 'cost first' if lam > 0.5 else 'balanced'}): "
                 "0 = highest predicted quality, 1 = cheapest. Set on the Route and Pareto pages.")
