"""Helpers for the browser end-to-end tests: start the dashboard, drive Debian's chromium, wait for Streamlit to settle.

Selectors checked against Streamlit 1.67's frontend bundle and a running app:
  app root            [data-testid="stApp"] with data-test-script-state (initial | running | notRunning | ...)
                      and data-test-connection-state (CONNECTED once the websocket is up)
  rerun indicator     [data-testid="stStatusWidget"] (present only while a run is slow)
  stale elements      [data-testid="stElementContainer"][data-stale="true"] (left over while a rerun is in flight)
  slider thumb        [data-testid="stSlider"] input[type="range"] (react-aria; there is no [role="slider"] attribute)
  select box          [data-testid="stSelectbox"] input[role="combobox"]; options are [role="option"] in a [role="listbox"]
  metric value        [data-testid="stMetric"] > [data-testid="stMetricLabel"] / [data-testid="stMetricValue"]
  file uploader       [data-testid="stFileUploader"] input[type="file"] (data-testid stFileUploaderDropzoneInput)
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
HOST = "127.0.0.1"

# Every wait below ends as soon as the page reaches the state it waits for; the bounds only catch a hung page, and are
# wide because a busy 2-core machine (CI beside other jobs) can take minutes over what an idle one does in seconds.
SERVER_START_TIMEOUT_S = 300
IDLE_TIMEOUT_MS = 600_000       # one rerun of a page, including the first load of the router or training a model
SAMPLE_JOBS_TIMEOUT_MS = 900_000  # /pareto and /schedule wait for the dashboard's background sample jobs
ELEMENT_TIMEOUT_MS = 120_000    # an element of a page that has finished its run
RERUN_START_TIMEOUT_MS = 5_000  # how long an interaction may take before Streamlit starts the rerun it triggers
SETTLE_MS = 500                 # the app must look idle this long in a row (covers widget debounce)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}


# ---------------------------------------------------------------- prerequisites

def require_chromium() -> None:
    """Skip (or fail in CI) when Debian's chromium is absent; playwright's own browser download is not used."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must have chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.skip("chromium not installed: apt-get install -y chromium")


# ---------------------------------------------------------------- the Streamlit server

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def stop_process_group(process: subprocess.Popen, timeout_s: float = 10) -> None:
    """SIGTERM the server's process group, wait a bounded time, then SIGKILL it."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)
    except ProcessLookupError:
        pass


@contextmanager
def streamlit_server(script: str = "dashboard.py", log_path: Path | None = None, started: list | None = None) -> Iterator[str]:
    """Run `streamlit run <script>` from the repo root on a free loopback port; yield its base URL.

    started: if given, the server's Popen is appended to it (for a test that stops the server itself).
    """
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.headless=true", f"--server.address={HOST}",
               f"--server.port={port}", "--browser.gatherUsageStats=false",
               "--server.fileWatcherType=none"]  # no reruns when files change under the test (and no inotify load)
    log_path = log_path or ARTIFACTS / "streamlit.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if started is not None:
            started.append(process)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _healthy(base_url):
                if process.poll() is not None:
                    raise RuntimeError(f"streamlit exited with code {process.returncode}; see {log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit not healthy after {SERVER_START_TIMEOUT_S} s; see {log_path}")
                time.sleep(0.25)
            yield base_url
        finally:
            stop_process_group(process)


# ---------------------------------------------------------------- the browser

def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


# ---------------------------------------------------------------- waiting for Streamlit

_IDLE_JS = """settleMs => {
  const app = document.querySelector('[data-testid="stApp"]');
  const idle = !!app
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-testid="stAppSkeleton"]')
    && !document.querySelector('[data-testid="stSkeleton"]')
    && !document.querySelector('[data-stale="true"]');
  const now = performance.now();
  if (!idle) { window.__e2eIdleSince = null; return false; }
  if (window.__e2eIdleSince == null) window.__e2eIdleSince = now;
  return now - window.__e2eIdleSince >= settleMs;
}"""

_WATCH_RERUN_JS = """() => {
  window.__e2eRerunSeen = false;
  const app = document.querySelector('[data-testid="stApp"]');
  const note = () => { if (app.getAttribute('data-test-script-state') !== 'notRunning') window.__e2eRerunSeen = true; };
  if (window.__e2eObserver) window.__e2eObserver.disconnect();
  window.__e2eObserver = new MutationObserver(note);
  window.__e2eObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  note();
}"""


def wait_idle(page, timeout_ms: int = IDLE_TIMEOUT_MS) -> None:
    """Wait until the script has finished, nothing is stale and that has held for SETTLE_MS."""
    page.evaluate("() => { window.__e2eIdleSince = null; }")
    page.wait_for_function(_IDLE_JS, arg=SETTLE_MS, timeout=timeout_ms, polling=100)


def interact_and_wait(page, action: Callable[[], None], timeout_ms: int = IDLE_TIMEOUT_MS) -> None:
    """Do `action`, wait (bounded) for the rerun it triggers to start, then for the app to be idle again."""
    page.evaluate(_WATCH_RERUN_JS)
    action()
    try:
        page.wait_for_function("() => window.__e2eRerunSeen === true", timeout=RERUN_START_TIMEOUT_MS, polling=50)
    except Exception:  # no rerun (the widget value did not change); the idle wait below still applies
        pass
    wait_idle(page, timeout_ms)


def open_page(page, base_url: str, path: str = "/", timeout_ms: int = IDLE_TIMEOUT_MS) -> None:
    """Load `path` and wait for its first run; fail if Streamlit answers "Page not found" (it then runs the main page)."""
    page.goto(f"{base_url}{path}", wait_until="domcontentloaded", timeout=ELEMENT_TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stApp"]', timeout=ELEMENT_TIMEOUT_MS)
    wait_idle(page, timeout_ms)
    not_found = page.locator('[data-testid="stDialog"]').filter(has_text="Page not found")
    assert not_found.count() == 0, f"{path}: Streamlit shows 'Page not found' and ran the main page instead"


# ---------------------------------------------------------------- reading the page

def exception_texts(page) -> list[str]:
    return [text.strip() for text in page.locator('[data-testid="stException"]').all_inner_texts()]


def error_texts(page) -> list[str]:
    """st.error / st.warning boxes, for failure messages."""
    return [text.strip() for text in page.locator('[data-testid="stAlert"]').all_inner_texts()]


def metric_value(page, label: str):
    """The value locator of the st.metric whose label contains `label`."""
    metric = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label))
    return metric.first.locator('[data-testid="stMetricValue"]')


def metric_text(page, label: str, timeout_ms: int = ELEMENT_TIMEOUT_MS) -> str:
    value = metric_value(page, label)
    value.wait_for(state="visible", timeout=timeout_ms)
    return value.inner_text(timeout=timeout_ms).strip()


def slider_thumb(page, label: str):
    """The (first) thumb of the st.slider whose label contains `label`; it takes arrow, Home and End keys."""
    return page.locator('[data-testid="stSlider"]').filter(has_text=label).first.locator('input[type="range"]').first


def press_on_slider(page, label: str, key: str, times: int = 1) -> None:
    thumb = slider_thumb(page, label)

    def press():
        thumb.focus(timeout=ELEMENT_TIMEOUT_MS)
        for _ in range(times):
            page.keyboard.press(key)

    interact_and_wait(page, press)


def choose_option(page, label: str, option: str) -> None:
    """Pick `option` in the st.selectbox whose label contains `label`."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.locator('input[role="combobox"]').click(timeout=ELEMENT_TIMEOUT_MS)
    choice = page.get_by_role("option", name=option, exact=True)
    interact_and_wait(page, lambda: choice.click(timeout=ELEMENT_TIMEOUT_MS))


def upload_file(page, label: str, path: Path) -> None:
    """Give a file to the st.file_uploader whose label contains `label`."""
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=label).first
    interact_and_wait(page, lambda: uploader.locator('input[type="file"]').set_input_files(str(path), timeout=ELEMENT_TIMEOUT_MS))


def wait_for_charts(page, timeout_ms: int = ELEMENT_TIMEOUT_MS) -> None:
    """Plotly draws after the script finishes; wait (bounded) until every chart on the page has its SVG."""
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .every(chart => chart.querySelector('.main-svg'))""", timeout=timeout_ms, polling=100)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
