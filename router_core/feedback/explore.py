"""Exploration: with probability ε a request goes to another model than the router's choice, drawn by softmax over the
models' utilities, so feedback on answers covers more than the router's own picks. Every decision records the
probability with which its model was chosen (its propensity): what off-policy estimates divide by."""
from __future__ import annotations

import numpy as np

TAU = 0.05  # softmax temperature over utilities (the soft-routing default): near models are drawn more often


def probabilities(utilities: dict[str, float], allowed: list[str], greedy: str, epsilon: float,
                  tau: float = TAU) -> dict[str, float]:
    """Each allowed model's probability of being chosen: 1 − ε for the router's choice (1 without exploration), and ε
    shared among the others by softmax(utility / τ)."""
    others = [m for m in allowed if m != greedy]
    if epsilon <= 0 or not others:
        return {m: float(m == greedy) for m in allowed}
    u = np.array([utilities[m] for m in others], dtype=float) / tau
    weights = np.exp(u - u.max())
    weights /= weights.sum()
    return {greedy: 1.0 - epsilon, **{m: float(epsilon * w) for m, w in zip(others, weights)}}


def draw(chances: dict[str, float], rng: np.random.Generator) -> str:
    names = list(chances)
    p = np.array([chances[m] for m in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]
