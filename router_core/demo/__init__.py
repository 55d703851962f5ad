"""Seeded synthetic routing data: a catalog, a labelled routing set and two weeks of request logs.

Nothing here comes from a real model, a real user or a real benchmark. Quality labels follow a stated generative
model:

    quality = sigmoid(skill[model, category] − difficulty(query) + query_noise + answer_noise)

where difficulty is read off the words of the query: the template it came from, the slot values put into it (a
red-black tree is harder than binary search, Icelandic harder than Spanish), the modifiers appended to it
("in O(n log n) time", "prove it rigorously", "a 1500-word essay") and a small term for its length. So a text
encoder can learn more than the category, which is the point of the demo.

The words (templates, modifiers, slot values, pasted documents) are data, in router_core/demo/word_banks/*.yaml; the
draws, the generative model and its constants are here: `model` (catalog, skills, noise, tokens and labels),
`queries` (composing and styling a request), `documents` and `puzzles` (generated slot values), `request_log`
and `readme`.

`generate(out_dir)` writes catalog.csv, labelled.csv, request_log.csv and README.md (every assumption, stated).
The same seed gives byte-identical files: every draw comes from numpy's default_rng, in a fixed order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from router_core.demo.banks import (
    ALTERNATIVES,
    CategoryBank,
    Modifier,
    SlotFiller,
    SlotValue,
    Template,
    fill_fields,
    load_words,
    pick,
    pick_k,
    resolve_alternatives,
)
from router_core.demo.model import (
    ANSWER_LENGTH_SD,
    ANSWER_NOISE_SD,
    CATALOG,
    CATEGORIES,
    CATEGORY_OUTPUT_TOKENS,
    CATEGORY_SHARE,
    CHARS_PER_TOKEN,
    DEFAULT_SEED,
    DIFFICULTY_SCALE,
    LENGTH_DIFFICULTY,
    MAX_OUTPUT_TOKENS,
    MIN_OUTPUT_TOKENS,
    MODELS,
    MODIFIER_COUNT_P,
    QUERY_NOISE_SD,
    SHARED_LENGTH_SD,
    SKILL,
    SYSTEM_PROMPT_TOKENS,
    TRANSLATION_OUTPUT_RATIO,
    VERBOSITY,
    count_input_tokens,
    draw_output_tokens,
    draw_quality,
    expected_output_tokens,
    labelled_frame,
    sigmoid,
)
from router_core.demo.queries import (
    GREETING_RATE,
    INFORMAL_RATE,
    SIGN_OFF_RATE,
    TYPO_RATE,
    Query,
    category_banks,
    compose_query,
    generate_queries,
    shared_slots,
)
from router_core.demo.readme import readme_text
from router_core.demo.request_log import (
    LOG_COLUMNS,
    LOG_MODEL,
    LOG_START,
    hour_mix,
    request_log_frame,
)
from router_core.errors import RouterInputError
from router_core.files import write_text_atomic as write_atomic

__all__ = [
    "generate", "labelled_with_metadata", "random_streams", "csv_text", "write_atomic", "readme_text",
    "BANKS", "SHARED_SLOTS", "category_banks", "shared_slots", "load_words",
    "CategoryBank", "Template", "Modifier", "SlotValue", "SlotFiller", "Query", "ALTERNATIVES", "resolve_alternatives",
    "fill_fields", "pick", "pick_k", "compose_query", "generate_queries",
    "CATALOG", "MODELS", "CATEGORIES", "CATEGORY_SHARE", "SKILL", "DEFAULT_SEED", "DIFFICULTY_SCALE", "QUERY_NOISE_SD",
    "ANSWER_NOISE_SD", "LENGTH_DIFFICULTY", "MODIFIER_COUNT_P", "CATEGORY_OUTPUT_TOKENS", "TRANSLATION_OUTPUT_RATIO",
    "VERBOSITY", "SHARED_LENGTH_SD", "ANSWER_LENGTH_SD", "MIN_OUTPUT_TOKENS", "MAX_OUTPUT_TOKENS", "SYSTEM_PROMPT_TOKENS",
    "CHARS_PER_TOKEN", "INFORMAL_RATE", "GREETING_RATE", "SIGN_OFF_RATE", "TYPO_RATE",
    "count_input_tokens", "sigmoid", "expected_output_tokens", "draw_output_tokens", "draw_quality", "labelled_frame",
    "LOG_COLUMNS", "LOG_MODEL", "LOG_START", "hour_mix", "request_log_frame",
]


def __getattr__(name: str):
    """BANKS and SHARED_SLOTS, as attributes: built from demo/word_banks/ on first use rather than at import."""
    if name == "BANKS":
        return category_banks()
    if name == "SHARED_SLOTS":
        return shared_slots()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent streams, so e.g. changing the log's length does not change the labelled set."""
    queries, labels, log = np.random.SeedSequence(seed).spawn(3)
    return {"queries": np.random.default_rng(queries), "labels": np.random.default_rng(labels), "log": np.random.default_rng(log)}


def labelled_with_metadata(seed: int = DEFAULT_SEED, n_queries: int = 3000) -> pd.DataFrame:
    """The labelled set `generate` writes, plus the hidden difficulty columns (difficulty, modifier_difficulty,
    n_modifiers) for tests and for anyone checking that the generator does what the README says."""
    streams = random_streams(seed)
    return labelled_frame(generate_queries(streams["queries"], n_queries), streams["labels"], with_metadata=True)


def csv_text(frame: pd.DataFrame, decimals: dict[str, int] | None = None) -> str:
    """CSV with fixed decimals (no 1e-05 style floats), '\\n' line ends on every platform."""
    frame = frame.copy()
    for column, places in (decimals or {}).items():
        frame[column] = [f"{v:.{places}f}" for v in frame[column]]
    return frame.to_csv(index=False, lineterminator="\n")


def generate(out_dir: str | Path, seed: int = DEFAULT_SEED, n_queries: int = 3000, log_days: int = 14) -> dict[str, Path]:
    """Write catalog.csv, labelled.csv, request_log.csv and README.md to out_dir; same seed, same bytes.

    Returns the paths of the three data files, keyed "catalog", "labelled", "request_log".
    """
    if int(n_queries) < 1 or int(log_days) < 1:
        raise RouterInputError(f"sample data: n_queries and log_days must be at least 1, got {n_queries} and {log_days}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    streams = random_streams(int(seed))
    queries = generate_queries(streams["queries"], int(n_queries))
    labelled = labelled_frame(queries, streams["labels"])
    log = request_log_frame(streams["log"], int(log_days), set(labelled["query"]))

    paths = {"catalog": out / "catalog.csv", "labelled": out / "labelled.csv", "request_log": out / "request_log.csv"}
    write_atomic(paths["catalog"], csv_text(CATALOG.to_frame()))
    write_atomic(paths["labelled"], csv_text(labelled, {"quality": 3, "cost_usd": 8}))
    write_atomic(paths["request_log"], csv_text(log, {"cost_usd": 8}))
    write_atomic(out / "README.md", readme_text(int(seed), int(n_queries), int(log_days), labelled, log))
    return paths
