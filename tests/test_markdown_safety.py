"""User-supplied names reach Streamlit's Markdown literally: no live links, images, emphasis or terminal escapes;
ordinary model names come out unchanged. Also the dashboard's upload budget."""
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router_core.dashboard_views.explain import why
from router_core.dashboard_views.figures import escape_markdown
from router_core.dashboard_views.uploads import (
    DEFAULT_UPLOAD_LIMIT_MB,
    UPLOAD_LIMIT_ENV,
    check_upload_size,
    upload_limit_mb,
)
from router_core.errors import RouterInputError
from router_core.router import RouteDecision

ROOT = Path(__file__).resolve().parent.parent
PHISH = "[phish](https://evil.example)"
IMAGE = "![img](https://evil.example/x.png)"
UNESCAPED_BRACKET = re.compile(r"(?<!\\)[\[\]]")


def live_markup(text: str) -> list[str]:
    """What in `text` GitHub-flavoured Markdown could turn into a link, image or autolink."""
    found = UNESCAPED_BRACKET.findall(text)
    found += re.findall(r"https?://|www\.|(?<!\\)<|[\w.+-]@[\w-]+\.", text)
    return found


@pytest.mark.parametrize("name", ["gpt-4o-mini", "claude-3.5-haiku", "llama_3_70b", "openai/gpt-4o", "mistral-nemo",
                                  "Qwen2.5-72B-Instruct", "gemini 1.5 pro"])
def test_ordinary_model_names_are_unchanged(name):
    assert escape_markdown(name) == name


@pytest.mark.parametrize("hostile, shown", [
    (PHISH, "\\[phish\\](https:\u200b//evil.example)"),
    (IMAGE, "!\\[img\\](https:\u200b//evil.example/x.png)"),
    ("https://evil.example", "https:\u200b//evil.example"),
    ("www.evil.example", "www\u200b.evil.example"),
    ("boss@evil.example", "boss@\u200bevil.example"),
    ("<https://evil.example>", "\\<https:\u200b//evil.example\\>"),
    ("# Huge heading", "\\# Huge heading"),
    ("**bold** and _it_", "\\*\\*bold\\*\\* and \\_it\\_"),
    ("$\\href{x}{y}$", "\\$\\\\href{x}{y}\\$"),
    (":red[alarm]", ":red\\[alarm\\]"),
    ("col\x1b[31m\nred", "col\\\\x1b\\[31m\\\\nred"),
    ("&#91;x&#93;(y)", "\\&#91;x\\&#93;(y)"),
])
def test_hostile_names_are_shown_literally(hostile, shown):
    assert escape_markdown(hostile) == shown
    assert live_markup(escape_markdown(hostile)) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_comes_out_without_live_markup_or_control_characters(text):
    escaped = escape_markdown(text)
    assert live_markup(escaped) == []
    assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in escaped)
    assert "\n" not in escaped


def decision(chosen: str, per: dict, lam: float = 0.3, policy: str = "linear") -> RouteDecision:
    p = per[chosen]
    return RouteDecision(query="q", lam=lam, policy=policy, candidates=(chosen,), merge_weights=(1.0,), aggregator=None,
                         predicted_cost_usd=p["predicted_cost_usd"], predicted_quality_low=p["predicted_quality"],
                         predicted_quality_high=p["predicted_quality"],
                         per_candidate={n: {**v, "weight": 0.5, "utility": 0.0} for n, v in per.items()})


def test_the_why_text_escapes_model_names_for_the_dashboard_and_keeps_them_plain_otherwise():
    per = {PHISH: {"predicted_quality": 0.9, "predicted_cost_usd": 0.01},
           "mid": {"predicted_quality": 0.7, "predicted_cost_usd": 0.002},
           IMAGE: {"predicted_quality": 0.3, "predicted_cost_usd": 0.0001}}
    shown = why(decision("mid", per), format_name=escape_markdown)
    assert "\\[phish\\](https:\u200b//evil.example)'s higher predicted quality (0.90 vs 0.70)" in shown
    assert "!\\[img\\](https:\u200b//evil.example/x.png) is 20.0× cheaper" in shown
    assert live_markup(shown) == []
    assert PHISH in why(decision("mid", per))  # the plain text (CLI, logs) keeps the name as it is
    assert why(decision("mid", {k.replace(PHISH, "gpt-4o"): v for k, v in per.items()}), format_name=escape_markdown).count("gpt-4o") == 1


def test_an_upload_over_the_budget_is_refused_before_parsing_and_points_to_score_log(monkeypatch):
    monkeypatch.delenv(UPLOAD_LIMIT_ENV, raising=False)
    assert upload_limit_mb() == DEFAULT_UPLOAD_LIMIT_MB
    check_upload_size("log.csv", 100_000_000)  # exactly at the limit: accepted
    with pytest.raises(RouterInputError) as refused:
        check_upload_size("log.csv", 150_000_000)
    message = str(refused.value)
    assert message.startswith("log.csv: 150.0 MB is over the dashboard's 100 MB upload limit")
    assert "python -m router_core score-log" in message and UPLOAD_LIMIT_ENV in message
    monkeypatch.setenv(UPLOAD_LIMIT_ENV, "0.001")
    with pytest.raises(RouterInputError, match=r"big.jsonl: 0.0 MB is over the dashboard's 0.001 MB upload limit"):
        check_upload_size("big.jsonl", 2_000)
    check_upload_size("small.jsonl", 900)
    for bad in ("lots", "-5", "nan", "0"):
        monkeypatch.setenv(UPLOAD_LIMIT_ENV, bad)
        with pytest.raises(RouterInputError, match=f"CROSSROUTE_UPLOAD_MB is '{bad}': expected a positive number"):
            check_upload_size("log.csv", 10)


def test_every_dashboard_upload_is_checked_against_the_budget():
    sources = {p.name: p.read_text() for p in (ROOT / "app_pages").glob("*.py")}
    for name, text in sources.items():
        uploads = text.count("st.file_uploader(")
        assert text.count("check_upload_size(") >= uploads, name


def test_no_page_shows_an_error_message_unescaped():
    for path in [ROOT / "dashboard.py", ROOT / "dashboard_frame.py", *(ROOT / "app_pages").glob("*.py")]:
        assert "st.error(str(e))" not in path.read_text(), path.name
