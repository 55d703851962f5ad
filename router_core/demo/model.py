"""The catalog and the generative model: what quality, answer length and cost a (query, model) pair gets.

    quality = sigmoid(skill[model, category] − difficulty(query) + query_noise + answer_noise)

Every constant here is repeated in the README that `generate` writes.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from router_core.data.catalog import Candidate, Catalog

if TYPE_CHECKING:
    from router_core.demo.queries import Query

DEFAULT_SEED = 7

# Public list prices (USD per 1M tokens, late 2024). typical_output_tokens prices a request before it is answered.
CATALOG = Catalog((
    Candidate("gpt-4o", "openai/gpt-4o", 2.50, 10.00, 350),
    Candidate("claude-3.5-haiku", "anthropic/claude-3-5-haiku-20241022", 0.80, 4.00, 320),
    Candidate("gpt-4o-mini", "openai/gpt-4o-mini", 0.15, 0.60, 300),
    Candidate("mistral-nemo", "mistral/open-mistral-nemo", 0.15, 0.15, 280),
))
MODELS = tuple(CATALOG.names)

CATEGORIES = ("coding", "maths", "reasoning", "extraction", "summarisation",
              "writing", "roleplay", "chit-chat", "stem-knowledge", "translation")

# Share of each category in the labelled set (roughly what a general-purpose assistant sees).
CATEGORY_SHARE = {
    "coding": 0.14, "maths": 0.09, "reasoning": 0.09, "extraction": 0.10, "summarisation": 0.10,
    "writing": 0.12, "roleplay": 0.07, "chit-chat": 0.10, "stem-knowledge": 0.10, "translation": 0.09,
}

# skill[model, category] on the logit scale, columns in MODELS order. Calibrated qualitatively to MT-Bench's
# per-category scores: small models are close to the big one on writing, roleplay, chit-chat, extraction and
# summarisation, and far behind on maths, reasoning and coding. claude-3.5-haiku is strong at coding and writing.
SKILL = {
    #                  gpt-4o  haiku  mini   nemo
    "coding":         (2.8,   2.7,   1.6,   0.7),
    "maths":          (2.8,   1.9,   1.6,   0.4),
    "reasoning":      (2.6,   1.9,   1.4,   0.5),
    "extraction":     (2.6,   2.4,   2.3,   2.1),
    "summarisation":  (2.6,   2.4,   2.4,   2.2),
    "writing":        (2.5,   2.5,   2.3,   2.1),
    "roleplay":       (2.4,   2.3,   2.2,   2.0),
    "chit-chat":      (2.5,   2.4,   2.4,   2.3),
    "stem-knowledge": (2.8,   2.3,   2.0,   1.4),
    "translation":    (2.6,   2.3,   2.2,   1.8),
}

# The banks (router_core/demo/word_banks/*.yaml) write difficulties in compact units (about −1.5 for "what's 15% of
# 300", +1.5 for a proof); difficulty(query) = DIFFICULTY_SCALE × (template + slots + modifiers) + length term. The
# scale spreads queries from "every model saturates" (quality ≈ 0.97 for all) to "only the strong model copes",
# which is what makes the easy half cheap to route and the hard half worth paying for.
DIFFICULTY_SCALE = 1.6

QUERY_NOISE_SD = 0.35   # per query, shared by all models: what the text does not reveal about how hard it is
ANSWER_NOISE_SD = 0.5   # per (query, model): the luck of one answer and of the judge; total noise sd ≈ 0.61
LENGTH_DIFFICULTY = 0.25  # difficulty += 0.25 · ln(1 + characters / 400): long inputs are a little harder
MODIFIER_COUNT_P = (0.42, 0.32, 0.18, 0.08)  # chance a query carries 0, 1, 2 or 3 modifiers

# Answer length: category base × template/slot/modifier factors × model verbosity × lognormal noise.
CATEGORY_OUTPUT_TOKENS = {
    "coding": 540, "maths": 380, "reasoning": 330, "extraction": 140, "summarisation": 210,
    "writing": 660, "roleplay": 320, "chit-chat": 100, "stem-knowledge": 400,
    "translation": 0,  # a translation is as long as its source: 1.2 × the prompt's tokens (see expected_output_tokens)
}
TRANSLATION_OUTPUT_RATIO = 1.2
VERBOSITY = {"gpt-4o": 1.0, "claude-3.5-haiku": 0.92, "gpt-4o-mini": 0.87, "mistral-nemo": 0.8}
SHARED_LENGTH_SD = 0.25  # lognormal sd shared by all models' answers to one query (some questions need more words)
ANSWER_LENGTH_SD = 0.3   # lognormal sd per answer
MIN_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS = 3, 4096

SYSTEM_PROMPT_TOKENS = 20  # every call carries a short system prompt
CHARS_PER_TOKEN = 4        # input_tokens = ceil(len(query) / 4) + SYSTEM_PROMPT_TOKENS


def count_input_tokens(text: str) -> int:
    """The usual ~4 characters per token rule, plus the system prompt."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) + SYSTEM_PROMPT_TOKENS


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def expected_output_tokens(query: Query) -> float:
    """The answer length a model of verbosity 1 would give, before noise."""
    base = CATEGORY_OUTPUT_TOKENS[query.category]
    if query.category == "translation":
        base = TRANSLATION_OUTPUT_RATIO * (count_input_tokens(query.text) - SYSTEM_PROMPT_TOKENS)
    return base * query.length_factor


def draw_output_tokens(rng, queries: list[Query], models: Sequence[str]) -> np.ndarray:
    """(Q, M) whole tokens: expected length × model verbosity × lognormal noise (shared per query + per answer)."""
    expected = np.array([expected_output_tokens(q) for q in queries])[:, None]
    verbosity = np.array([VERBOSITY[m] for m in models])[None, :]
    noise = rng.normal(0, SHARED_LENGTH_SD, (len(queries), 1)) + rng.normal(0, ANSWER_LENGTH_SD, (len(queries), len(models)))
    return np.clip(np.rint(expected * verbosity * np.exp(noise)), MIN_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS).astype(int)


def draw_quality(rng, queries: list[Query], models: Sequence[str]) -> np.ndarray:
    """(Q, M) quality = sigmoid(skill[model, category] − difficulty(query) + query noise + answer noise)."""
    column = {m: j for j, m in enumerate(MODELS)}
    skill = np.array([[SKILL[q.category][column[m]] for m in models] for q in queries])
    difficulty = np.array([q.difficulty for q in queries])[:, None]
    noise = rng.normal(0, QUERY_NOISE_SD, (len(queries), 1)) + rng.normal(0, ANSWER_NOISE_SD, (len(queries), len(models)))
    return sigmoid(skill - difficulty + noise)


def labelled_frame(queries: list[Query], rng, catalog: Catalog = CATALOG, with_metadata: bool = False) -> pd.DataFrame:
    """Long format, one row per (query, model), models in catalog order (the catalog's names must be in SKILL's MODELS).

    with_metadata adds the hidden columns difficulty, modifier_difficulty and n_modifiers (not written to the CSV).
    """
    models = catalog.names
    n_q, n_m = len(queries), len(models)
    quality = draw_quality(rng, queries, models)
    output_tokens = draw_output_tokens(rng, queries, models)
    input_tokens = np.array([count_input_tokens(q.text) for q in queries])
    cost = catalog.cost_matrix(input_tokens, output_tokens)
    frame = pd.DataFrame({
        "query_id": np.repeat([f"q{i + 1:05d}" for i in range(n_q)], n_m),
        "query": np.repeat([q.text for q in queries], n_m),
        "category": np.repeat([q.category for q in queries], n_m),
        "model": np.tile(models, n_q),
        "quality": np.round(quality.ravel(), 3),
        "input_tokens": np.repeat(input_tokens, n_m),
        "output_tokens": output_tokens.ravel(),
        "cost_usd": np.round(cost.ravel(), 8),
    })
    if with_metadata:
        frame["difficulty"] = np.repeat([q.difficulty for q in queries], n_m)
        frame["modifier_difficulty"] = np.repeat([q.modifier_difficulty for q in queries], n_m)
        frame["n_modifiers"] = np.repeat([q.n_modifiers for q in queries], n_m)
    return frame
