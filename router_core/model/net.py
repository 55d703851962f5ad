"""RouterNet: single-head cross-attention from query tokens to learned candidate capability embeddings."""
from __future__ import annotations

import math

import torch
from torch import nn


class RouterNet(nn.Module):
    """Tokens attend over candidates; heads on the per-candidate attended features predict quality and cost.

    A[l, j] = softmax_j(q_l · k_j / √d): how much token l speaks to candidate j.
    w_j = masked mean over tokens of A[:, j]: the routing weights, a distribution over candidates.
    Each candidate's feature is the query as that candidate attends to it (token states pooled by A[:, j]),
    joined with the candidate's value vector and the query length. Heads are shared across candidates and
    conditioned on the candidate's embedding, so a new candidate is added by training its embedding row alone.
    """

    def __init__(self, token_dim: int, n_candidates: int, attention_dim: int = 128, hidden_dim: int = 128, dropout: float = 0.1):
        super().__init__()
        self.attention_dim = attention_dim
        self.candidate_embeddings = nn.Parameter(torch.randn(n_candidates, attention_dim) / math.sqrt(attention_dim))
        self.query_proj = nn.Linear(token_dim, attention_dim)
        self.key_proj = nn.Linear(attention_dim, attention_dim)
        self.value_proj = nn.Linear(attention_dim, attention_dim)
        self.token_proj = nn.Linear(token_dim, attention_dim)
        feature_dim = 3 * attention_dim + 1
        self.trunk = nn.Sequential(nn.Linear(feature_dim, hidden_dim), nn.GELU(), nn.Dropout(dropout),
                                   nn.Linear(hidden_dim, hidden_dim), nn.GELU())
        self.quality_head = nn.Linear(hidden_dim, 1)
        # Each candidate's own linear read-out of the mean token state, added to the shared head's logit. Candidate
        # differences are small next to per-query difficulty; this direct path learns them.
        self.candidate_readout = nn.Parameter(torch.zeros(n_candidates, token_dim))
        self.candidate_bias = nn.Parameter(torch.zeros(n_candidates))
        self.cost_head = nn.Linear(hidden_dim, 1)  # standardised log cost (or log output tokens)

    @property
    def n_candidates(self) -> int:
        return self.candidate_embeddings.shape[0]

    def forward(self, states: torch.Tensor, mask: torch.Tensor, candidate_embeddings: torch.Tensor | None = None,
                candidate_readout: torch.Tensor | None = None, candidate_bias: torch.Tensor | None = None) -> dict:
        """Args:
            states: (B, L, d) token states; mask: (B, L) bool, True on real tokens.
            candidate_embeddings (M, a), candidate_readout (M, d), candidate_bias (M,): per-candidate rows to use
                instead of the learned ones (adding a candidate).
        Returns:
            attention (B, L, M), weights (B, M), quality (B, M) in [0, 1], quality_logit (B, M), cost (B, M) standardised.
        """
        embeddings = self.candidate_embeddings if candidate_embeddings is None else candidate_embeddings
        maskf = mask.to(states.dtype)  # (B, L)
        queries = self.query_proj(states)  # (B, L, d) -> (B, L, a)
        keys = self.key_proj(embeddings)  # (M, a)
        values = self.value_proj(embeddings)  # (M, a)
        logits = queries @ keys.T / math.sqrt(self.attention_dim)  # (B, L, a) @ (a, M) -> (B, L, M)
        attention = logits.softmax(dim=-1) * maskf.unsqueeze(-1)  # padding rows zeroed
        n_tokens = maskf.sum(dim=1, keepdim=True).clamp(min=1.0)  # (B, 1)
        weights = attention.sum(dim=1) / n_tokens  # (B, M), each row sums to 1

        # Each candidate's view of the query: token states pooled by that candidate's attention column.
        token_share = attention / attention.sum(dim=1, keepdim=True).clamp(min=1e-9)  # (B, L, M), columns sum to 1
        pooled = token_share.transpose(1, 2) @ self.token_proj(states)  # (B, M, L) @ (B, L, a) -> (B, M, a)
        values_b = values.unsqueeze(0).expand_as(pooled)  # (B, M, a)
        length = torch.log1p(n_tokens).unsqueeze(1).expand(-1, pooled.shape[1], 1) / 5.0  # (B, M, 1), ~[0, 1]
        parts = [pooled, values_b, pooled * values_b, length]
        mean_state = (states * maskf.unsqueeze(-1)).sum(dim=1) / n_tokens  # (B, d)
        features = torch.cat(parts, dim=-1)  # (B, M, 3a + 1)
        hidden = self.trunk(features)  # (B, M, h)
        readout = self.candidate_readout if candidate_readout is None else candidate_readout  # (M, d)
        bias = self.candidate_bias if candidate_bias is None else candidate_bias  # (M,)
        quality_logit = self.quality_head(hidden).squeeze(-1) + mean_state @ readout.T + bias  # (B, M)
        return {"attention": attention, "weights": weights, "quality_logit": quality_logit,
                "quality": torch.sigmoid(quality_logit), "cost": self.cost_head(hidden).squeeze(-1)}
