"""Scorers: the one place where query texts become the router's raw per-query numbers, with torch or ONNX Runtime.

`ScoringPipeline.raw` (scoring.py) calls `scorer.score(texts)` and does everything after it (caching, post-processing, pricing,
policies) the same way for every backend, so a backend changes how fast the numbers come, never what they mean.
"""
from __future__ import annotations

import numpy as np
import torch

from router_core.model.encoder import Encoder, pad_states
from router_core.model.net import RouterNet
from router_core.model.scores import RawScore

NET_BATCH = 256  # queries per RouterNet pass; the encoder has already done the heavy part


class TorchScorer:
    """The encoder and RouterNet in torch: what training uses, and the reference the ONNX graphs are checked against."""

    name = "torch"

    def __init__(self, encoder: Encoder, net: RouterNet):
        self.encoder = encoder
        self.net = net

    def score(self, texts: list[str], batch_size: int = 64, progress=None) -> list[RawScore]:
        """Args:
            progress: callable(done, total) while encoding.
        """
        # token_states keeps its own cache: fit() scores its training queries right after encoding them.
        states = self.encoder.token_states(texts, batch_size=batch_size, progress=progress)
        scores = []
        with torch.inference_mode():
            for start in range(0, len(texts), NET_BATCH):
                chunk = states[start:start + NET_BATCH]
                batch_states, mask = pad_states(chunk)
                out = self.net(batch_states, mask)
                lengths = mask.sum(dim=1).tolist()
                for i, state in enumerate(chunk):
                    scores.append(RawScore(out["weights"][i].numpy(), out["quality"][i].numpy(), out["cost"][i].numpy(),
                                           out["attention"][i, : lengths[i]].numpy(), state.mean(axis=0, dtype=np.float32)))
        return scores
