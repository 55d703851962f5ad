"""A stand-in router for score-log file-safety tests: deterministic scores without an encoder."""
from types import SimpleNamespace

import numpy as np


class StubRouter:
    id = "stub-router"
    backend = "stub"
    candidates = ["cheap", "dear"]
    catalog = None
    pricing = SimpleNamespace(cost_mode="tokens")

    def scores(self, prompts, catalog=None, progress=None):
        n = len(prompts)
        lengths = np.array([len(p) for p in prompts], dtype=float)
        quality = np.stack([np.full(n, 0.4), np.full(n, 0.8)], axis=1)
        return SimpleNamespace(input_tokens=lengths, quality=quality, cost=quality / 100, weights=quality / 1.2,
                               answer_tokens=np.full((n, 2), 10.0))
