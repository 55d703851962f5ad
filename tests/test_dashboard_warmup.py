"""The dashboard server loads what every visitor shares before it answers, and still starts when that fails."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from browser_support import ELEMENT_TIMEOUT_MS, error_texts, launch_chromium, open_page, require_chromium, streamlit_server

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_warm_up_leaves_the_router_and_both_sample_jobs_ready():
    from app_pages.shared import (
        DEFAULT_ROUTER,
        catalog_key,
        load_router,
        page_imports,
        sample_evaluation_job,
        sample_log_job,
        warm_up,
    )
    from router_core.evaluation.comparison import ROUTER_ROW

    warm_up("auto")
    router = load_router(str(DEFAULT_ROUTER), "auto")
    key = catalog_key(router.catalog)
    evaluation = sample_evaluation_job(router.id, key, router, router.catalog)
    log = sample_log_job(router.id, key, router, router.catalog)
    assert evaluation.done() and log.done()  # the same cached futures a first visitor's page would wait on
    assert ROUTER_ROW in evaluation.result().table.index and "single:gpt-4o" in evaluation.result().table.index
    assert log.result().n_requests == len(pd.read_csv(ROOT / "sample_data" / "request_log.csv"))
    assert "router_core.evaluation.comparison" in page_imports()  # read from the pages' source
    assert all(module in sys.modules for module in page_imports())


def test_streamlit_serves_dashboard_py_as_the_warmed_app():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "dashboard.py")
    assert found.is_asgi_app and found.import_string == "dashboard:app"


@pytest.mark.browser
def test_a_failed_warm_up_still_starts_the_server_and_the_page_says_why(monkeypatch):
    require_chromium()
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("CROSSROUTE_BACKEND", "no-such-backend")
    with streamlit_server("dashboard.py") as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        open_page(page, url, "/")
        page.locator('[data-testid="stAlert"]').first.wait_for(state="visible", timeout=ELEMENT_TIMEOUT_MS)
        assert any("Could not load the default router" in text and "no-such-backend" in text for text in error_texts(page))
        browser.close()
