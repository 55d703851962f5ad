"""CrossRoute dashboard: the frame. Page config, cached read-only loaders, the shared sidebar, and navigation.

Pages read what they need from st.session_state: "router" (read-only, shared), "catalog" (this session's prices),
"sample_dir", and the loader functions below.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, wait
from pathlib import Path

import streamlit as st

from router_core import Router, RouterInputError
from router_core.dashboard_views.figures import escape_markdown, router_captions
from router_core.data.labelled import load_labelled
from router_core.demo.views import load_evaluation, scored_log_path
from router_core.evaluation.comparison import evaluate_router
from router_core.model.score_cache import default_cache_dir
from router_core.traffic.simulate import prepare_log

ROOT = Path(__file__).resolve().parent
SAMPLE_DIR = ROOT / "sample_data"
DEFAULT_ROUTER = SAMPLE_DIR / "router"
BACKEND_ENV = "CROSSROUTE_BACKEND"  # auto (default), torch, onnx, onnx-fp32 or onnx-int8: see router_core.model.onnx_backend

st.set_page_config(page_title="CrossRoute", page_icon=str(ROOT / "assets" / "crossroute.png"), layout="wide")  # local: nothing fetched


@st.cache_resource(show_spinner="Loading the router and its encoder…")
def load_router(folder: str, backend: str) -> Router:
    # Shared by every session, so read-only: λ, prices and policy are arguments, never stored on it. Scores also go to
    # the user's cache folder, so a restarted dashboard does not encode the sample set and log again.
    return Router.load(folder, backend=backend, cache_dir=default_cache_dir())


@st.cache_resource(show_spinner=False)
def background_lock() -> threading.Lock:
    return threading.Lock()


def in_background(fn, *args) -> Future:
    """Run fn(*args) on a daemon thread, one job at a time. A pool's threads would be joined at exit, so a stopped
    server would wait minutes for a sample job to finish; daemon threads let it exit at once."""
    future: Future = Future()

    def run():
        with background_lock():
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as e:  # handed to whoever waits on the future
                    future.set_exception(e)
    threading.Thread(target=run, name="crossroute-warm", daemon=True).start()
    return future


def catalog_key(catalog) -> str:
    return catalog.digest if catalog is not None else "none"


def wait_for(future: Future, what: str):
    """The job's result; while it runs, a progress bar with its stage and an estimate of the time left."""
    if future.done():
        return future.result()
    status = getattr(future, "status", None) or {}
    bar = st.progress(0.0, text=what)
    while not future.done():
        fraction, elapsed = status.get("fraction", 0.0), time.monotonic() - status.get("started", time.monotonic())
        left = f"about {elapsed / fraction - elapsed:.0f} s left" if fraction >= 0.05 else "estimating the time left"
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"{what}: {status.get('stage', 'starting')} ({left})")
        wait([future], timeout=0.5)  # back as soon as it is done, else refresh the bar
    bar.empty()
    return future.result()


@st.cache_resource(show_spinner=False)
def sample_evaluation_job(router_id: str, catalog_hash: str, _router, _catalog) -> Future:
    """Router vs baselines on the sample set's held-out split, computed once per router and price list, off the UI thread.
    The future's `status` dict (fraction, stage, started) tells wait_for how far it is."""
    status = {"fraction": 0.0, "stage": "waiting for the sample log to be scored", "started": time.monotonic()}

    def run():
        status["started"] = time.monotonic()
        shipped = load_evaluation(_router, _catalog, SAMPLE_DIR)  # computed with the sample router, if it still applies
        if shipped is not None:
            return shipped
        data = load_labelled(SAMPLE_DIR / "labelled.csv", _router.catalog, name="labelled.csv")  # no server path in messages
        return evaluate_router(_router, data, catalog=_catalog,
                               progress=lambda fraction, stage: status.update(fraction=fraction, stage=stage))
    future = in_background(run)
    future.status = status
    return future


@st.cache_resource(show_spinner=False)
def sample_log_job(router_id: str, catalog_hash: str, _router, _catalog) -> Future:
    """The bundled two-week log, each distinct prompt scored once, off the UI thread (status as sample_evaluation_job's)."""
    log = scored_log_path(_router, _catalog, SAMPLE_DIR) or SAMPLE_DIR / "request_log.csv"
    status = {"fraction": 0.0, "stage": "waiting for the sample evaluation", "started": time.monotonic()}

    def run():
        status.update(started=time.monotonic(), stage="scoring the distinct prompts")
        return prepare_log(_router, log, _catalog, name="the bundled two-week sample log",
                           progress=lambda done, total: status.update(fraction=done / max(total, 1)))
    future = in_background(run)
    future.status = status
    return future


try:
    shared_router = load_router(str(DEFAULT_ROUTER), os.environ.get(BACKEND_ENV) or "auto")
except RouterInputError as e:
    st.error(f"Could not load the default router: {escape_markdown(e)}. Rebuild it with `python -m router_core sample-data`.")
    st.stop()

router = st.session_state.get("custom_router") or shared_router
st.session_state["router"] = router
st.session_state.setdefault("catalog", router.catalog)
st.session_state["sample_dir"] = SAMPLE_DIR
st.session_state["catalog_key"] = catalog_key
st.session_state["sample_evaluation_job"] = sample_evaluation_job
st.session_state["sample_log_job"] = sample_log_job
st.session_state["wait_for"] = wait_for
if router is shared_router:  # start the slow sample work now so the pages find it ready
    sample_evaluation_job(router.id, catalog_key(router.catalog), router, router.catalog)
    sample_log_job(router.id, catalog_key(router.catalog), router, router.catalog)

with st.sidebar:
    name = "custom router (this session)" if router is not shared_router else f"`{DEFAULT_ROUTER.relative_to(ROOT)}`"
    st.markdown(f"**Router:** {name}")
    if router is not shared_router and st.button("Back to the default router", icon=":material/undo:"):
        del st.session_state["custom_router"]
        st.session_state["catalog"] = shared_router.catalog
        st.rerun()
    for line in router_captions(router):
        st.caption(line)
    if st.session_state["catalog"] is not None:
        st.dataframe(st.session_state["catalog"].to_frame()[["name", "input_usd_per_1m", "output_usd_per_1m"]]
                     .rename(columns={"input_usd_per_1m": "$/1M in", "output_usd_per_1m": "$/1M out"}),
                     hide_index=True, width="stretch")
    lam_note = st.empty()  # filled after the page has run, so it shows this run's λ

# The folder is app_pages/, not pages/: Streamlit serves a pages/ folder as stand-alone scripts with file-named links
# until st.navigation has run once, which a new server's first request would show. The default page is served at "/";
# hidden aliases let /route and the older file-named /route_query open it too.
ROUTE_PAGE = "app_pages/route_query.py"
pages = [
    st.Page(ROUTE_PAGE, title="Route a query", icon=":material/alt_route:", url_path="home", default=True),
    st.Page("app_pages/pareto.py", title="Pareto explorer", icon=":material/show_chart:", url_path="pareto"),
    st.Page("app_pages/schedule.py", title="Schedule simulator", icon=":material/schedule:", url_path="schedule"),
    st.Page("app_pages/models.py", title="Models and costs", icon=":material/payments:", url_path="models"),
    st.Page("app_pages/monitoring.py", title="Monitoring", icon=":material/monitoring:", url_path="monitoring"),
]
aliases = [st.Page(ROUTE_PAGE, title="Route a query", url_path=alias, visibility="hidden") for alias in ("route", "route_query")]
navigation = st.navigation(pages + aliases)
navigation.run()
lam = st.session_state.get("lam", 0.2)
lam_note.caption(f"Current λ = {lam:.2f} ({'quality first' if lam < 0.5 else 'cost first' if lam > 0.5 else 'balanced'}): "
                 "0 = highest predicted quality, 1 = cheapest. Set on the Route and Pareto pages.")
