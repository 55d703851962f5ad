"""What every session of one dashboard server shares: the default router and the slow sample work, cached once per
process with st.cache_resource. dashboard.py calls warm_up() before the server answers, so no visitor waits for them.
"""
from __future__ import annotations

import ast
import importlib
import os
import threading
import time
from concurrent.futures import Future, wait
from pathlib import Path

import streamlit as st

from router_core import Router
from router_core.data.labelled import load_labelled
from router_core.demo.views import load_evaluation, scored_log_path
from router_core.evaluation.comparison import evaluate_router
from router_core.model.score_cache import default_cache_dir
from router_core.traffic.simulate import prepare_log

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample_data"
DEFAULT_ROUTER = SAMPLE_DIR / "router"
BACKEND_ENV = "CROSSROUTE_BACKEND"  # auto (default), torch, onnx, onnx-fp32 or onnx-int8: see router_core.model.onnx_backend


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


def page_imports() -> list[str]:
    """The modules the pages import, read from their source, so warming follows the pages as they change."""
    modules = set()
    for page in sorted((ROOT / "app_pages").glob("*.py")):
        for node in ast.walk(ast.parse(page.read_text(), filename=str(page))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
            elif isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
    return sorted(modules)


def default_router(backend: str | None = None) -> Router:
    """The bundled router, loaded once per server, scoring with `backend` (else $CROSSROUTE_BACKEND, else auto)."""
    return load_router(str(DEFAULT_ROUTER), backend or os.environ.get(BACKEND_ENV) or "auto")


def sample_jobs(router) -> list[Future]:
    """The sample evaluation and the scored sample log for `router` at its own prices (started once, then cached)."""
    key = catalog_key(router.catalog)
    return [sample_evaluation_job(router.id, key, router, router.catalog), sample_log_job(router.id, key, router, router.catalog)]


def warm_up(backend: str | None = None) -> None:
    """Load, once per server, everything a first visitor of any page would otherwise wait for: the modules the pages
    import, the default router with its encoder run once, and the sample evaluation and scored log."""
    for module in page_imports():
        importlib.import_module(module)
    router = default_router(backend)
    router.route("Warm up the encoder", 0.2)
    for job in sample_jobs(router):
        job.result()
