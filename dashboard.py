"""CrossRoute dashboard: `streamlit run dashboard.py`.

Serves dashboard_frame.py (the sidebar and navigation over app_pages/) as a Streamlit App whose start loads what every
visitor shares: the modules the pages import, the default router, the sample evaluation and the scored sample log. The
server answers its health check and first visitor only once that is done, so a first visit costs what a later one does.
"""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager

import streamlit as st

from app_pages.shared import warm_up


@asynccontextmanager
async def warmed(_app):
    # Warming runs outside any session, which Streamlit would log as a warning for each cached call.
    context_log = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = context_log.level
    context_log.setLevel(logging.ERROR)
    started = time.perf_counter()
    print("  Loading the router and the sample views; pages open once this is done…", flush=True)
    try:
        await asyncio.to_thread(warm_up)
        print(f"  Ready in {time.perf_counter() - started:.1f} s.", flush=True)
    except Exception as e:  # the server still starts: the frame shows the same failure to each visitor
        logging.getLogger("crossroute.dashboard").error("Warming the dashboard failed: %s", e)
    finally:
        context_log.setLevel(level)
    yield


app = st.App("dashboard_frame.py", lifespan=warmed)
