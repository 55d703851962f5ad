"""Human-readable views of a decision: attention per word as typed, and a plain-language "why"."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from router_core.router import RouteDecision


def word_attention(tokenizer, text: str, attention: np.ndarray, candidates: list[str]) -> pd.DataFrame:
    """Token × candidate attention regrouped by the words the user typed.

    Word pieces of one word are averaged into that word, spelled as in the original text (case and accents kept);
    [CLS] and [SEP] keep their own rows because they take part in the routing weights too.
    Args:
        tokenizer: the router's (Router.tokenizer), so the tokens are the ones the attention was computed over.
        attention: (L, M) from Scores.attention for this text.
    Returns:
        One row per word (index: the word, made unique with a position suffix when repeated), one column per candidate.
    """
    tokens, word_ids, offsets = tokenizer.words(text)
    labels, groups = [], []
    for position, (word, (start, end), token) in enumerate(zip(word_ids, offsets, tokens)):
        if word is None:
            labels.append(token)
            groups.append([position])
        elif groups and labels and word_ids[groups[-1][0]] == word:
            groups[-1].append(position)
            first_start = offsets[groups[-1][0]][0]
            labels[-1] = text[first_start:end]
        else:
            labels.append(text[start:end])
            groups.append([position])
    rows = np.stack([attention[g].mean(axis=0) for g in groups])  # (W, M)
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return pd.DataFrame(rows, index=unique, columns=candidates)


SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")


def informative_words(words: pd.DataFrame, limit: int | None = 20) -> pd.DataFrame:
    """The rows of word_attention a reader learns from: no special tokens, no punctuation-only words, and for a long
    query the `limit` words whose attention leans hardest towards one model (largest gap to an even split), kept in
    the order they were typed. `limit=None` keeps every word."""
    base = words.index.str.replace(r" \(\d+\)$", "", regex=True)  # "the (2)" is the word "the" again
    keep = ~base.isin(SPECIAL_TOKENS) & base.str.contains(r"\w", regex=True)
    kept = words[keep]
    if limit is None or len(kept) <= limit:
        return kept
    lean = (kept - 1.0 / kept.shape[1]).abs().max(axis=1)
    return kept.loc[sorted(lean.nlargest(limit).index, key=kept.index.get_loc)]


def _why_soft(decision: RouteDecision, name: dict, q: dict) -> str:
    called = [name[c] for c in decision.candidates]
    aggregator = decision.aggregator
    merged = name.get(aggregator, aggregator) if aggregator else "the aggregator"
    return (f"At λ={decision.lam:.2f}, soft routing calls the {len(called)} models with the highest utility, "
            f"{', '.join(called[:-1])} and {called[-1]} (predicted quality "
            f"{', '.join(f'{q[c]:.2f}' for c in decision.candidates)}), then {merged} merges their answers. The cost is "
            "the sum of all those calls; all figures predicted by the router.")


def why(decision: RouteDecision, format_name: Callable[[str], str] = str) -> str:
    """One or two sentences on why this candidate won at this λ, from the router's predictions.

    Args:
        format_name: applied to each model name (the dashboard passes views.escape_markdown: names come from uploads).
    """
    per = decision.per_candidate
    lam = decision.lam
    best_quality = max(per, key=lambda c: per[c]["predicted_quality"])
    cheapest = min(per, key=lambda c: per[c]["predicted_cost_usd"])
    name = {c: format_name(c) for c in per}
    q = {c: per[c]["predicted_quality"] for c in per}
    cost = {c: per[c]["predicted_cost_usd"] for c in per}
    chosen = decision.candidate
    if len(decision.candidates) > 1:
        return _why_soft(decision, name, q)
    lead = f"At λ={lam:.2f} ({'quality first' if lam < 0.5 else 'cost first' if lam > 0.5 else 'balanced'}), {name[chosen]} wins"
    if decision.guarded:
        return (f"At λ={lam:.2f}, {name[chosen]} answers every query: on the router's cross-validation, this model alone "
                "did better than routing at its own cost near this λ (the hull guard), whatever the predictions below say.")
    if decision.policy != "linear":
        return f"{lead} under the {decision.policy} policy (highest score among the candidates; predicted quality {q[chosen]:.2f})."
    reasons = []
    if best_quality != chosen:
        ratio = cost[best_quality] / max(cost[chosen], 1e-12)
        reasons.append(f"{name[best_quality]}'s higher predicted quality ({q[best_quality]:.2f} vs {q[chosen]:.2f}) is not worth "
                       f"its {ratio:.1f}× cost")
    else:
        reasons.append(f"it has the highest predicted quality ({q[chosen]:.2f})")
    if cheapest != chosen:
        ratio = cost[chosen] / max(cost[cheapest], 1e-12)
        gap = q[chosen] - q[cheapest]
        shown = f"{gap:.2f}" if abs(gap) >= 0.005 else f"{gap:.1g}"  # "0.00 lower" would read as no reason at all
        reasons.append(f"{name[cheapest]} is {ratio:.1f}× cheaper but predicted {shown} lower in quality")
    else:
        reasons.append("it is also the cheapest")
    return f"{lead}: {'; '.join(reasons)}. Utility = (1 − λ)·quality − λ·normalised cost; all figures predicted by the router."
