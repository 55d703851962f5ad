"""Browser end-to-end tests: the dashboard in Debian's headless chromium, driven by Playwright.

Run:  .venv/bin/python -m pytest tests/test_browser.py -v
Skipped when /usr/bin/chromium is absent (a failure when CI=true). Screenshots land in tests/artifacts/.
"""
from __future__ import annotations

import re

import pytest
from browser_support import (
    ELEMENT_TIMEOUT_MS,
    IDLE_TIMEOUT_MS,
    SAMPLE_JOBS_TIMEOUT_MS,
    VIEWPORT,
    choose_option,
    error_texts,
    exception_texts,
    launch_chromium,
    metric_text,
    open_page,
    press_on_slider,
    require_chromium,
    screenshot,
    slider_thumb,
    streamlit_server,
    upload_file,
    wait_for_charts,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# (screenshot name, url path, an element that proves the right page rendered, first-run timeout).
# The default page ("Route a query") is served at "/"; /route and /route_query are hidden aliases of it.
PAGES = [
    ("route", "/", '[data-testid="stTextArea"]:has-text("Query")', IDLE_TIMEOUT_MS),
    ("pareto", "/pareto", '[data-testid="stPlotlyChart"]', SAMPLE_JOBS_TIMEOUT_MS),
    ("schedule", "/schedule", '[data-testid="stFileUploader"]:has-text("Request log")', SAMPLE_JOBS_TIMEOUT_MS),
    ("models", "/models", '[data-testid="stDataFrame"]', IDLE_TIMEOUT_MS),
    ("monitoring", "/monitoring", '[data-testid="stPlotlyChart"]', IDLE_TIMEOUT_MS),
]

PROMPTS = ["Write a Python function that merges two sorted lists", "hey! how was your weekend lol",
           "Prove that the square root of 2 is irrational, step by step", "Translate 'good morning' into French",
           "Summarise this in one sentence: the meeting moved to Thursday because the vendor was late.",
           "Explain why the sky is blue", "Write a SQL query for the top 5 customers by revenue",
           "What is the capital of Australia?", "Draft a polite email declining a meeting invitation",
           "Solve x^2 - 5x + 6 = 0 and show each step"]


@pytest.fixture(scope="module")
def app_url():
    require_chromium()
    with streamlit_server("dashboard.py") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context per test, so each test gets its own Streamlit session."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ELEMENT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def assert_no_exception(page, where: str) -> None:
    exceptions = exception_texts(page)
    assert not exceptions, f"{where}: Streamlit exception(s): {exceptions} (alerts: {error_texts(page)})"


@pytest.fixture
def request_log_csv(tmp_path):
    """30 requests over two days, varied prompts."""
    rows = ["timestamp,prompt"]
    for i in range(30):
        day, hour = 5 + i // 15, 8 + (i % 15)
        prompt = PROMPTS[i % len(PROMPTS)].replace('"', '""')
        rows.append(f'2026-10-{day:02d}T{hour:02d}:{(7 * i) % 60:02d}:00Z,"{prompt}"')
    path = tmp_path / "request_log_30.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("name,path,landmark,timeout_ms", PAGES, ids=[name for name, *_ in PAGES])
def test_page_renders_without_exception(page, app_url, name, path, landmark, timeout_ms):
    open_page(page, app_url, path, timeout_ms)
    # Widgets whose code is still loading show a placeholder first; on a busy machine that can outlast the idle wait.
    page.locator(landmark).first.wait_for(state="visible", timeout=timeout_ms)
    if name == "pareto":
        wait_for_charts(page)
    screenshot(page, name)
    assert_no_exception(page, path)
    assert page.locator(landmark).count() > 0, f"{path}: expected {landmark} (alerts: {error_texts(page)})"


def test_no_page_fetches_anything_from_the_internet(page, app_url):
    """Offline machines and air-gapped demos: the favicon, fonts and charts all come from the dashboard's own server."""
    from urllib.parse import urlparse

    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    for _, path, landmark, timeout_ms in PAGES:
        open_page(page, app_url, path, timeout_ms)
        page.locator(landmark).first.wait_for(state="visible", timeout=timeout_ms)
    outside = sorted({u for u in fetched if urlparse(u).scheme in ("http", "https", "ws", "wss")
                      and urlparse(u).hostname not in ("127.0.0.1", "localhost")})
    assert fetched and not outside, f"fetched from outside: {outside}"
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0  # nothing to deploy from a demo


def test_pareto_lambda_slider_moves_mean_cost(page, app_url):
    open_page(page, app_url, "/pareto", SAMPLE_JOBS_TIMEOUT_MS)
    thumb = slider_thumb(page, "λ")
    start, step = float(thumb.input_value()), float(thumb.get_attribute("step"))
    before = metric_text(page, "Mean cost at this λ")
    press_on_slider(page, "λ", "ArrowRight", times=4)
    assert_no_exception(page, "/pareto after λ +4 steps")
    after = metric_text(page, "Mean cost at this λ")
    screenshot(page, "pareto_after_slider")
    assert after != before, f"'Mean cost at this λ' stayed {before!r} after moving λ four steps right"
    assert float(thumb.input_value()) == pytest.approx(start + 4 * step), \
        f"λ went from {start} to {thumb.input_value()} after four {step} steps right: slider changes were dropped"


def test_route_lambda_extremes_change_predicted_cost(page, app_url):
    """Route a query (served at "/"): λ at its left end (quality first) vs its right end (cost first)."""
    open_page(page, app_url, "/")
    press_on_slider(page, "λ", "Home")
    thumb = slider_thumb(page, "λ")
    assert thumb.input_value() == thumb.get_attribute("min"), "λ slider did not reach its left end"
    quality_first = metric_text(page, "Predicted cost of this request")
    press_on_slider(page, "λ", "End")
    screenshot(page, "route_lambda_max")
    assert thumb.input_value() == thumb.get_attribute("max"), \
        f"λ slider is at {thumb.input_value()} after End: the second λ change on the page was dropped"
    assert_no_exception(page, "/route at λ = max")
    cost_first = metric_text(page, "Predicted cost of this request")
    assert cost_first != quality_first, f"predicted cost is {quality_first!r} at both ends of λ"


def test_schedule_upload_and_preset(page, app_url, request_log_csv):
    open_page(page, app_url, "/schedule", SAMPLE_JOBS_TIMEOUT_MS)
    upload_file(page, "Request log", request_log_csv)
    assert_no_exception(page, "/schedule after upload")
    main_text = page.locator('[data-testid="stMain"]').inner_text()
    screenshot(page, "schedule_upload")
    assert re.search(r"\b30\b", main_text) or "requests" in main_text, "no sign of the 30 uploaded requests"
    assert page.locator('[data-testid="stFileUploader"]').filter(has_text=request_log_csv.name).count() > 0, \
        "the uploader does not list the uploaded file"

    before = metric_text(page, "Projected monthly cost")
    choose_option(page, "Preset", "Constant λ")
    assert_no_exception(page, "/schedule with the Constant λ preset")
    press_on_slider(page, "λ for every hour", "End")  # cost first all day: cheaper than the seed's business hours
    after = metric_text(page, "Projected monthly cost")
    screenshot(page, "schedule_constant_lambda")
    assert after != before, f"'Projected monthly cost' stayed {before!r} with λ = 1 all day"


@pytest.mark.parametrize("path, heading", [("/models", "Models and costs"), ("/route_query", "Route a query"),
                                           ("/route", "Route a query"), ("/schedule", "Schedule simulator")])
def test_a_page_opened_by_its_url_as_a_new_servers_first_request_gets_the_app(browser, path, heading):
    # A tab left open across a server restart: the page must open inside the app, with the app's own navigation and
    # never Streamlit's file-named links of a pages/ folder.
    with streamlit_server("dashboard.py") as url:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        open_page(page, url, path, SAMPLE_JOBS_TIMEOUT_MS)
        page.get_by_role("heading", name=heading).first.wait_for(state="visible", timeout=IDLE_TIMEOUT_MS)
        assert_no_exception(page, f"{path} as first request")
        assert page.url.rstrip("/").endswith(path)
        navigation = page.locator('[data-testid="stSidebarNav"]').inner_text()
        icons = {"alt_route", "show_chart", "schedule", "payments", "monitoring"}  # icon names render as text in innerText
        assert [line.strip() for line in navigation.splitlines() if line.strip() and line.strip() not in icons] == \
            ["Route a query", "Pareto explorer", "Schedule simulator", "Models and costs", "Monitoring"]  # never file-named
        screenshot(page, f"first_request_{path.strip('/')}")
        context.close()


def test_adding_a_model_keeps_the_pareto_page_working_and_can_be_undone(page, app_url, tmp_path):
    import pandas as pd
    from browser_support import REPO_ROOT, interact_and_wait

    labelled = pd.read_csv(REPO_ROOT / "sample_data" / "labelled.csv")
    rows = tmp_path / "newcomer.csv"
    labelled[labelled.model == "gpt-4o-mini"].head(40).assign(model="newcomer").to_csv(rows, index=False)
    open_page(page, app_url, "/models")
    upload_file(page, "Labelled rows for the new model", rows)
    model_id = page.get_by_label("LiteLLM model id (provider/model, as the proxy calls it)")
    interact_and_wait(page, lambda: (model_id.fill("openai/gpt-4.1-mini"), model_id.press("Enter")))
    interact_and_wait(page, lambda: page.get_by_role("button", name="Add the model").click())
    assert_no_exception(page, "/models after adding a model")
    assert page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="newcomer added from 40").count() == 1

    page.get_by_role("link", name="Pareto explorer").click()
    # the router with the newcomer is measured on the sample set here (its baselines come from the shipped views)
    page.get_by_text("has no labels for newcomer").first.wait_for(state="visible", timeout=SAMPLE_JOBS_TIMEOUT_MS)
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(state="visible", timeout=IDLE_TIMEOUT_MS)
    wait_for_charts(page)
    assert_no_exception(page, "/pareto with an added model")
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "has no labels for newcomer" in main and "CrossRoute" in main
    assert "Added since training: newcomer" in page.locator('[data-testid="stSidebar"]').inner_text()
    screenshot(page, "pareto_after_adding_a_model")

    interact_and_wait(page, lambda: page.get_by_role("button", name="Back to the default router").click())
    assert "newcomer" not in page.locator('[data-testid="stSidebar"]').inner_text()
    assert "has no labels for newcomer" not in page.locator('[data-testid="stMain"]').inner_text()
    assert_no_exception(page, "/pareto back on the default router")


def test_monitoring_page_shows_the_demo_log_and_filters_by_team(page, app_url):
    open_page(page, app_url, "/monitoring")
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(state="visible", timeout=IDLE_TIMEOUT_MS)
    wait_for_charts(page)
    assert_no_exception(page, "/monitoring")
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 5
    everyone = int(metric_text(page, "Requests").replace(",", ""))
    screenshot(page, "monitoring")
    choose_option(page, "Team", "support")
    assert_no_exception(page, "/monitoring filtered to one team")
    assert 0 < int(metric_text(page, "Requests").replace(",", "")) < everyone


def test_a_stopped_server_exits_at_once_while_its_sample_jobs_still_run(browser):
    # The sample evaluation and log scoring run in the background for minutes on a cold server; SIGTERM must not
    # wait for them (a liveness check: a server that waits for its jobs takes minutes, not seconds).
    import os
    import signal
    import subprocess

    started = []
    with streamlit_server("dashboard.py", started=started) as url:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        open_page(page, url, "/", IDLE_TIMEOUT_MS)  # the first run starts the background jobs
        process = started[0]
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("the dashboard server was still running 15 s after SIGTERM")
        context.close()
