"""The request log: two weeks of a naive setup that sends every request to gpt-4o."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from router_core.demo.banks import pick
from router_core.demo.documents import shared
from router_core.demo.model import (
    ANSWER_LENGTH_SD,
    CATALOG,
    CATEGORIES,
    MAX_OUTPUT_TOKENS,
    MIN_OUTPUT_TOKENS,
    SHARED_LENGTH_SD,
    VERBOSITY,
    count_input_tokens,
    expected_output_tokens,
)
from router_core.demo.queries import Query, compose_query

LOG_START = datetime(2026, 10, 5, tzinfo=timezone.utc)  # a Monday
LOG_MODEL = "gpt-4o"
REQUESTS_PER_WEEKDAY = 520   # × (5 weekdays + 2 × 0.4 weekend days) × 2 weeks ≈ 6,000 requests
WEEKEND_FACTOR = 0.4
# Relative traffic per hour of day (local time = UTC): busy 09–18, a lunch dip, quiet at night.
HOURLY_PROFILE = (0.15, 0.10, 0.08, 0.07, 0.07, 0.10, 0.20, 0.40, 0.75, 1.00, 1.10, 1.10,
                  0.90, 1.00, 1.10, 1.10, 1.00, 0.90, 0.70, 0.55, 0.50, 0.45, 0.35, 0.25)
REPEAT_RATE = 0.15            # share of requests that re-send one of a few popular prompts verbatim
POPULAR_PROMPTS_PER_CATEGORY = 6

# What people ask when: work tasks in business hours, leisure in the evening; the night is a mix.
CATEGORY_MIX = {
    "business": {"coding": 0.24, "maths": 0.05, "reasoning": 0.06, "extraction": 0.18, "summarisation": 0.16,
                 "writing": 0.10, "roleplay": 0.01, "chit-chat": 0.03, "stem-knowledge": 0.08, "translation": 0.09},
    "evening": {"coding": 0.08, "maths": 0.06, "reasoning": 0.06, "extraction": 0.04, "summarisation": 0.06,
                "writing": 0.18, "roleplay": 0.16, "chit-chat": 0.22, "stem-knowledge": 0.08, "translation": 0.06},
    "night": {"coding": 0.14, "maths": 0.06, "reasoning": 0.07, "extraction": 0.06, "summarisation": 0.07,
              "writing": 0.14, "roleplay": 0.14, "chit-chat": 0.18, "stem-knowledge": 0.08, "translation": 0.06},
}
N_USERS = 48  # first.last from shared.yaml's names, each in one of its teams
# Latency of one gpt-4o call: time to first token + time per output token (lognormal), slower in busy hours.
FIRST_TOKEN_MS, MS_PER_TOKEN, BUSY_SLOWDOWN = 450.0, 12.0, 1.15


def hour_mix(hour: int, weekend: bool) -> np.ndarray:
    """Category probabilities for one hour of the day, in CATEGORIES order."""
    period = "business" if 8 <= hour < 18 else "evening" if 18 <= hour < 24 else "night"
    mix = np.array([CATEGORY_MIX[period][c] for c in CATEGORIES])
    if weekend:  # weekends lean to leisure all day
        mix = 0.5 * mix + 0.5 * np.array([CATEGORY_MIX["evening"][c] for c in CATEGORIES])
    return mix / mix.sum()


def make_users(rng) -> tuple[list[str], list[str], np.ndarray]:
    """Users (first.last), their teams, and how active each is (a few heavy users, a long tail)."""
    users, teams = [], []
    while len(users) < N_USERS:
        name = f"{pick(rng, shared('first_names'))}.{pick(rng, shared('last_names'))}".lower().replace("'", "")
        if name not in users:
            users.append(name)
            teams.append(pick(rng, shared("teams")))
    activity = 1.0 / np.arange(1, N_USERS + 1) ** 0.8
    return users, teams, activity / activity.sum()


def fresh_query(rng, category: str, avoid: set[str]) -> Query:
    """A new query of this category whose text is not in `avoid` (the labelled set: the log must hold new prompts)."""
    query = compose_query(rng, category)
    for _ in range(20):
        if query.text not in avoid:
            break
        query = compose_query(rng, category)
    return query


LOG_COLUMNS = ["timestamp", "prompt", "model", "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "user", "team"]


def logged_call(rng, query: Query, busy: bool) -> dict:
    """What the naive setup logged for one call to LOG_MODEL: tokens, cost and latency."""
    length_noise = np.exp(rng.normal(0, math.hypot(SHARED_LENGTH_SD, ANSWER_LENGTH_SD)))
    completion = int(np.clip(np.rint(expected_output_tokens(query) * VERBOSITY[LOG_MODEL] * length_noise),
                             MIN_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS))
    prompt_tokens = count_input_tokens(query.text)
    latency = (FIRST_TOKEN_MS * math.exp(rng.normal(0, 0.35))
               + completion * MS_PER_TOKEN * math.exp(rng.normal(0, 0.15))) * (BUSY_SLOWDOWN if busy else 1.0)
    return {"prompt": query.text, "model": LOG_MODEL, "prompt_tokens": prompt_tokens, "completion_tokens": completion,
            "cost_usd": round(float(CATALOG[LOG_MODEL].cost_usd(prompt_tokens, completion)), 8),
            "latency_ms": int(round(latency))}


def request_log_frame(rng, log_days: int, labelled_texts: set[str]) -> pd.DataFrame:
    """One row per request, in time order."""
    users, teams, activity = make_users(rng)
    popular = {c: [fresh_query(rng, c, labelled_texts) for _ in range(POPULAR_PROMPTS_PER_CATEGORY)] for c in CATEGORIES}
    popularity = 1.0 / np.arange(1, POPULAR_PROMPTS_PER_CATEGORY + 1)
    popularity /= popularity.sum()
    profile = np.array(HOURLY_PROFILE) / sum(HOURLY_PROFILE)

    rows = []
    for day in range(log_days):
        date = LOG_START + timedelta(days=day)
        weekend = date.weekday() >= 5
        for hour in range(24):
            rate = REQUESTS_PER_WEEKDAY * profile[hour] * (WEEKEND_FACTOR if weekend else 1.0)
            seconds = np.sort(rng.integers(0, 3600, size=int(rng.poisson(rate))))
            mix, busy = hour_mix(hour, weekend), not weekend and 9 <= hour < 18
            for second in seconds:
                category = CATEGORIES[int(rng.choice(len(CATEGORIES), p=mix))]
                if rng.random() < REPEAT_RATE:
                    query = popular[category][int(rng.choice(POPULAR_PROMPTS_PER_CATEGORY, p=popularity))]
                else:
                    query = fresh_query(rng, category, labelled_texts)
                user = int(rng.choice(N_USERS, p=activity))
                when = date + timedelta(hours=hour, seconds=int(second))
                rows.append({"timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"), **logged_call(rng, query, busy),
                             "user": users[user], "team": teams[user]})
    return pd.DataFrame(rows, columns=LOG_COLUMNS)
