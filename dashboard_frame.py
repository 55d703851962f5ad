"""CrossRoute dashboard: the frame every page runs in. Page config, the shared sidebar, and navigation.

Served by dashboard.py (`streamlit run dashboard.py`). Pages read what they need from st.session_state: "router"
(read-only, shared), "catalog" (this session's prices), "sample_dir", and the loaders of app_pages/shared.py.
"""
from __future__ import annotations

import streamlit as st

from app_pages.shared import (
    DEFAULT_ROUTER,
    ROOT,
    SAMPLE_DIR,
    catalog_key,
    default_router,
    sample_evaluation_job,
    sample_jobs,
    sample_log_job,
    wait_for,
)
from router_core import RouterInputError
from router_core.dashboard_views.figures import escape_markdown, router_captions

st.set_page_config(page_title="CrossRoute", page_icon=str(ROOT / "assets" / "crossroute.png"), layout="wide")  # local: nothing fetched


try:
    shared_router = default_router()
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
    sample_jobs(router)

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
