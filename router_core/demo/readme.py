"""The README written next to the sample data: every assumption, with the numbers taken from the constants."""
from __future__ import annotations

from datetime import timedelta
from typing import Sequence

import pandas as pd

from router_core.demo.documents import shared
from router_core.demo.model import (
    ANSWER_LENGTH_SD,
    ANSWER_NOISE_SD,
    CATALOG,
    CATEGORIES,
    CATEGORY_OUTPUT_TOKENS,
    CATEGORY_SHARE,
    CHARS_PER_TOKEN,
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
)
from router_core.demo.queries import (
    GREETING_RATE,
    SIGN_OFF_RATE,
    TYPO_RATE,
    category_banks,
)
from router_core.demo.request_log import (
    BUSY_SLOWDOWN,
    CATEGORY_MIX,
    FIRST_TOKEN_MS,
    HOURLY_PROFILE,
    LOG_MODEL,
    LOG_START,
    MS_PER_TOKEN,
    N_USERS,
    POPULAR_PROMPTS_PER_CATEGORY,
    REPEAT_RATE,
    REQUESTS_PER_WEEKDAY,
    WEEKEND_FACTOR,
)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def modifier_examples(category: str, k: int = 4) -> str:
    """The category's strongest modifiers (one plain wording each, no slots) with their difficulty, for the README."""
    examples = []
    for m in sorted(category_banks()[category].modifiers, key=lambda m: -m.difficulty):
        plain = [p for p in m.phrasings if "{" not in p and "|" not in p]
        if plain and len(examples) < k:
            examples.append(f"\"{plain[0]}\" ({m.difficulty:+.1f})")
    return "; ".join(examples)


def template_difficulty_range(bank) -> str:
    difficulties = [t.difficulty for t in bank.templates]
    return f"{min(difficulties):+.1f} … {max(difficulties):+.1f}"


def readme_text(seed: int, n_queries: int, log_days: int, labelled: pd.DataFrame, log: pd.DataFrame) -> str:
    models = list(MODELS)
    quality = labelled.pivot_table(index="category", columns="model", values="quality", aggfunc="mean")
    cost = labelled.pivot_table(index="category", columns="model", values="cost_usd", aggfunc="mean")
    result_rows = [[c] + [f"{quality.loc[c, m]:.3f}" for m in models] + [f"{cost.loc[c, m] * 1000:.3f}" for m in models]
                   for c in CATEGORIES if c in quality.index]
    result_rows.append(["**all**"] + [f"{labelled.loc[labelled.model == m, 'quality'].mean():.3f}" for m in models]
                       + [f"{labelled.loc[labelled.model == m, 'cost_usd'].mean() * 1000:.3f}" for m in models])
    banks = [[c, len(bank.templates), template_difficulty_range(bank), f"{CATEGORY_SHARE[c]:.0%}",
              CATEGORY_OUTPUT_TOKENS[c] or f"{TRANSLATION_OUTPUT_RATIO} × prompt", f"{bank.informal_rate:.0%}",
              modifier_examples(c)] for c, bank in category_banks().items()]
    n_distinct = labelled.drop_duplicates("query_id")["query"].nunique()
    n_unique = labelled["query_id"].nunique()
    end = LOG_START + timedelta(days=log_days)
    teams = shared("teams")
    return f"""# Sample data (synthetic)

Everything in this folder is **invented** by `router_core/demo/` (seed {seed}). No row comes from a real
model, a real user, a real log or a real benchmark; the quality labels are drawn from the generative model below,
not measured. Real data for benchmarks lives outside the repository and never enters it.

Regenerate (byte-identical for the same seed):

    python -m router_core sample-data

| file | what it is |
|---|---|
| `catalog.csv` | the {len(CATALOG.candidates)} candidate models and their public list prices |
| `labelled.csv` | {n_unique:,} queries × {len(models)} models, one row per (query, model): quality, tokens, cost |
| `request_log.csv` | {len(log):,} requests over {log_days} days, as a naive setup (everything to `{LOG_MODEL}`) logged them |
| `router/` | the trained default router, written by the same command (trained on `labelled.csv`) |
| `views/` | what the dashboard shows on this data, computed with that router: its evaluation against every baseline on the held-out split, and `request_log.csv` scored by `score-log` (used only while router, prices and files match; `sample-data --views-only` recomputes it) |

## catalog.csv

Public list prices in USD per 1M tokens as of late 2024 (they change; treat them as an example).
`typical_output_tokens` prices a request before it is answered; it is close to each model's mean answer length in
`labelled.csv` ({", ".join(f"{m} {labelled.loc[labelled.model == m, 'output_tokens'].mean():.0f}" for m in models)}).

{markdown_table(["name", "provider_model_id", "input $/1M", "output $/1M", "typical output tokens"],
                [[c.name, c.provider_model_id, f"{c.input_usd_per_1m:.2f}", f"{c.output_usd_per_1m:.2f}", c.typical_output_tokens]
                 for c in CATALOG.candidates])}

## labelled.csv

Columns: `query_id, query, category, model, quality, input_tokens, output_tokens, cost_usd`. {n_unique:,} queries
({n_distinct:,} distinct strings: a few short everyday questions come up twice, as in real traffic), every query
has a row for every model.

### The generative model

    quality = sigmoid(skill[model, category] − difficulty(query) + e_query + e_answer)
    e_query ~ N(0, {QUERY_NOISE_SD}) shared by all models (what the text does not reveal about a query)
    e_answer ~ N(0, {ANSWER_NOISE_SD}) per (query, model) (the luck of one answer and of its judge)
    difficulty(query) = {DIFFICULTY_SCALE} × (template + slot values + modifiers) + {LENGTH_DIFFICULTY} × ln(1 + characters / 400)

quality is rounded to 3 decimals. The skills (logit scale) are calibrated qualitatively to MT-Bench's per-category
scores: the small models are close to the big one on writing, roleplay, chit-chat, extraction and summarisation,
and far behind on maths, reasoning and coding; gpt-4o is best overall, claude-3.5-haiku strong at coding and
writing, gpt-4o-mini decent, mistral-nemo the weakest. Because quality saturates near 1 for easy queries, the cheap
models are nearly as good as gpt-4o on the easy half and fall well behind on the hard half: that gap is what a
router can exploit.

{markdown_table(["category"] + models, [[c] + [f"{v:.1f}" for v in SKILL[c]] for c in CATEGORIES])}

### How difficulty shows in the text

Each query is built from a category's templates (several wordings each, e.g. `[Write|Can you write|I need] a
{{lang}} function that {{simple_task}}`), slot values and 0–3 modifiers (probabilities {", ".join(f"{p:.0%}" for p in MODIFIER_COUNT_P)}),
so a text encoder can learn more than the category:

(All difficulties below are in bank units, before the × {DIFFICULTY_SCALE}.)

- **template**: a base difficulty, e.g. a unit conversion −1.5, a proof +1.4, a system design +1.0;
- **slot values** carry difficulty too: binary search −0.5 vs red-black tree insertion +0.9 vs a Raft leader
  election +1.2; Spanish 0 vs Icelandic +0.95 vs Yoruba +1.1; 3 people in an ordering puzzle vs 6; a 2×2 vs a 3×3
  matrix; a "1500-word" blog post +0.8 (and 3.6× longer) vs a "short" one −0.2;
- **modifiers** add words and difficulty: constraints ("It must run in O(n log n) time." +0.8, "Don't use any
  libraries." +0.4, "Handle unicode and empty input." +0.5, "Include type hints and unit tests." +0.5),
  multi-step wording ("First …, then …, and finally …" +0.4 to +0.5), proofs and rigour (+0.9), generalising to n
  (+1.0), nested conditions in logic puzzles (+1.0), strict forms ("Don't use the letter 'e' anywhere." +2.0), output
  formats (a JSON schema +0.7); a few make a request easier ("Just the code, no explanation." −0.1);
- **pasted context**: code, emails, meeting notes, logs, articles, reviews, contracts; longer pastes add the length term.

Queries are typed the way people type: a greeting now and then ({GREETING_RATE:.0%}), casual lower case with "pls"/"u" and
no full stop (share per category below), a swapped-letter typo ({TYPO_RATE:.0%}), a "thanks" ({SIGN_OFF_RATE:.0%}). Style never changes difficulty.

{markdown_table(["category", "templates", "template difficulty (bank units)", "share", "answer tokens (base)", "casual",
                 "strongest modifiers (difficulty)"], banks)}

### Tokens and cost

- `input_tokens` = ceil(characters / {CHARS_PER_TOKEN}) + {SYSTEM_PROMPT_TOKENS} (a short system prompt).
- `output_tokens` = base tokens of the category × the template's, slots' and modifiers' length factors ("in one
  sentence" 0.1–0.2×, "step by step" 1.6×, "1500-word" 3.6×) × model verbosity
  ({", ".join(f"{m} {VERBOSITY[m]}" for m in models)}) × exp(N(0, {SHARED_LENGTH_SD}) shared per query + N(0, {ANSWER_LENGTH_SD}) per answer),
  rounded and clipped to [{MIN_OUTPUT_TOKENS}, {MAX_OUTPUT_TOKENS}]. A translation is {TRANSLATION_OUTPUT_RATIO} × as long as its prompt.
- `cost_usd` = input_tokens × input price + output_tokens × output price (per 1M tokens, from `catalog.csv`),
  rounded to 8 decimals.

### What came out (mean quality; mean cost per query in USD × 1000)

{markdown_table(["category"] + [f"quality {m}" for m in models] + [f"m$ {m}" for m in models], result_rows)}

## request_log.csv

Columns: `timestamp, prompt, model, prompt_tokens, completion_tokens, cost_usd, latency_ms, user, team`.

- {log_days} days from {LOG_START:%A %Y-%m-%d} 00:00 UTC to {end:%Y-%m-%d} 00:00 UTC; local time is taken to be UTC.
- Requests per hour ~ Poisson({REQUESTS_PER_WEEKDAY} per weekday × hourly profile), weekends × {WEEKEND_FACTOR}.
  Hourly profile (00 … 23 h, relative): {", ".join(f"{v:g}" for v in HOURLY_PROFILE)}. Seconds within the hour are uniform.
- The category mix shifts with the hour: 08–18 h business (coding {CATEGORY_MIX["business"]["coding"]:.0%}, extraction
  {CATEGORY_MIX["business"]["extraction"]:.0%}, summarisation {CATEGORY_MIX["business"]["summarisation"]:.0%}), 18–24 h evening (chit-chat
  {CATEGORY_MIX["evening"]["chit-chat"]:.0%}, writing {CATEGORY_MIX["evening"]["writing"]:.0%}, roleplay {CATEGORY_MIX["evening"]["roleplay"]:.0%}),
  00–08 h a mix; weekends blend each hour's mix half-and-half with the evening one.
- Prompts come from the same generator as the labelled set but are new (none is a labelled query); about
  {REPEAT_RATE:.0%} of requests re-send one of {POPULAR_PROMPTS_PER_CATEGORY} popular prompts per category verbatim (Zipf-like popularity),
  as real traffic does.
- Everything was sent to `{LOG_MODEL}` (the naive setup a router should beat); `completion_tokens` follow the token model
  above, `cost_usd` is priced from the catalog.
- `latency_ms` = ({FIRST_TOKEN_MS:g} ms × lognormal(0, 0.35) to the first token + {MS_PER_TOKEN:g} ms × lognormal(0, 0.15) per output token)
  × {BUSY_SLOWDOWN} in weekday business hours.
- {N_USERS} invented users in {len(teams)} teams ({", ".join(teams)}); a few heavy users and a long tail (activity ∝ 1/rank^0.8).
  User and team do not influence what is asked.

## Caveats

- The numbers are a plausible shape, not a measurement: do not quote them as model benchmarks.
- Categories are independent of users and teams, and difficulty is the only thing linking a query to its quality;
  real traffic has more structure.
- The noise per answer is independent across models, so the best-of-four oracle is somewhat optimistic.
"""
