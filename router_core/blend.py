"""Shrinking the network's quality predictions towards simpler evidence on the same query embedding.

Real routing labels are mostly 0/1 per (query, model). The network alone reacts to single noisy labels; steadier
evidence comes from the mean label of the query's nearest training queries, a ridge regression on the query's
sentence embedding, each model's mean over the query's task type, and each model's overall mean (its prior). The final
prediction is
    quality = a · network + b · neighbours + c · linear + d · task type + (1 − a − b − c − d) · prior,
with a, b, c, d and the neighbour count chosen on the router's validation split (never on test data). With little or
noisy data the choice moves towards the prior, i.e. towards always calling the best fixed model.

Task-type evidence needs a `category` column in the training data, and only there: at routing time the type is
predicted from the query's embedding (a logistic regression), so a query needs no label. A model's mean over a few
hundred queries of one type is far steadier than any per-query estimate from 0/1 labels.

A model added later from a few labelled queries (extend.py) also gets "peer" evidence: a ridge regression of its
labels on the other models' blended quality for the same queries. Hard queries are hard for every model, so the
others' predictions (learned from thousands of rows) carry most of what the newcomer's few labels can say. Its
levels (the peer regression's, its prior, its per-type means) are estimated as offsets from the other models' average
prediction on the same queries, not from its raw sample mean: a sample of 100 queries that happens to hold easy task
types would otherwise make the newcomer look better everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

NEIGHBOUR_COUNTS = (10, 20, 50, 100)
WEIGHT_STEP = 0.1
RIDGE_ALPHA = 1.0  # the linear baseline's
PEER_ALPHAS = (0.1, 1.0, 10.0, 100.0)  # chosen per newcomer by leave-one-out on its own samples
# Newcomer's quality = a quarter its own blend, three quarters the peer regression. Adding a model on llmrouter
# (benchmarks/add_model.py, 3 newcomers x 4 sample sizes): 0.75 beat 0.5 by 0.0031 AIQ on average on split 0, where it
# was picked, and by 0.0013 on split 1. Choosing it per newcomer by 5-fold squared error on its samples was tried and
# dropped: that picked 1.0 in most cases, which routed worse than 0.75. (Chosen before the levels became offsets.)
PEER_WEIGHT = 0.75
TASK_TYPE_C = 10.0  # inverse L2 penalty of the task-type classifier (scikit-learn's C)
# A task type's mean quality counts this many pseudo-queries at the model's overall mean: rare types, and the types of
# a model added from a few samples, lean on the overall mean (for an added model: its offset from the others' type mean).
TASK_TYPE_PSEUDO_COUNT = 10.0
_NO_TASK_TYPE = {"", "nan", "none", "null"}
_MEMORY_DTYPE = np.float16  # stored in the artifact at half precision; fitting sees the same rounding


def unit_rows(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def as_memory(embeddings: np.ndarray) -> np.ndarray:
    """Unit sentence embeddings rounded as the artifact stores them."""
    return unit_rows(embeddings).astype(_MEMORY_DTYPE).astype(np.float32)


@dataclass(frozen=True)
class QualityBlend:
    """Neighbour memory plus blend weights. A model's column may be labelled on only some memory rows (NaN elsewhere),
    e.g. a model added later from a few queries: its neighbours are then sought among those rows only."""

    memory: np.ndarray  # (N, d) unit sentence embeddings of training queries
    memory_quality: np.ndarray  # (N, M) their measured quality, NaN where a model has no label
    prior: np.ndarray  # (M,) each model's mean training quality
    net_weight: float  # a
    neighbour_weight: float  # b
    n_neighbours: int
    linear_coef: np.ndarray | None = None  # (M, d) ridge regression of quality on the sentence embedding
    linear_intercept: np.ndarray | None = None  # (M,)
    linear_weight: float = 0.0  # c
    peer_coef: np.ndarray | None = None  # (M, M) row j: model j's quality regressed on earlier models' (zero elsewhere)
    peer_intercept: np.ndarray | None = None  # (M,)
    peer_weight: np.ndarray | None = None  # (M,) 0 for models trained with the router, PEER_WEIGHT for added ones
    task_types: tuple[str, ...] = ()  # (T,) the training data's categories; empty: no task-type evidence
    task_coef: np.ndarray | None = None  # (T, d) multinomial logistic regression of the task type on the sentence embedding
    task_intercept: np.ndarray | None = None  # (T,)
    task_quality: np.ndarray | None = None  # (T, M) each model's mean quality per task type, shrunk towards its prior
    task_weight: float = 0.0  # d

    def __post_init__(self):
        # Round as router.safetensors stores them, so a saved and re-loaded router predicts exactly the same.
        object.__setattr__(self, "memory", as_memory(self.memory))
        object.__setattr__(self, "memory_quality", np.asarray(self.memory_quality, dtype=_MEMORY_DTYPE).astype(float))
        object.__setattr__(self, "prior", np.asarray(self.prior, dtype=np.float32).astype(float))
        if self.linear_coef is None:
            object.__setattr__(self, "linear_coef", np.zeros((len(self.prior), self.memory.shape[1]), np.float32))
            object.__setattr__(self, "linear_intercept", self.prior.astype(np.float32))
        object.__setattr__(self, "linear_coef", np.asarray(self.linear_coef, dtype=np.float32))
        object.__setattr__(self, "linear_intercept", np.asarray(self.linear_intercept, dtype=np.float32))
        m = len(self.prior)
        for name, shape in (("peer_coef", (m, m)), ("peer_intercept", (m,)), ("peer_weight", (m,))):
            value = getattr(self, name)
            object.__setattr__(self, name, np.zeros(shape, np.float32) if value is None else np.asarray(value, dtype=np.float32).reshape(shape))
        t, d = len(self.task_types), self.memory.shape[1]
        object.__setattr__(self, "task_types", tuple(str(x) for x in self.task_types))
        for name, shape in (("task_coef", (t, d)), ("task_intercept", (t,)), ("task_quality", (t, m))):
            value = getattr(self, name)
            object.__setattr__(self, name, np.zeros(shape, np.float32) if value is None else np.asarray(value, dtype=np.float32).reshape(shape))
        if self.task_weight > 0 and t == 0:
            raise ValueError("a task-type weight needs task types")

    @property
    def has_peers(self) -> bool:
        return bool(np.any(self.peer_weight > 0))

    @property
    def prior_weight(self) -> float:
        return round(max(0.0, 1.0 - self.net_weight - self.neighbour_weight - self.linear_weight - self.task_weight), 6)

    def neighbour_quality(self, embeddings: np.ndarray, batch: int = 512) -> np.ndarray:
        """(Q, d) sentence embeddings -> (Q, M) mean quality of each model over the query's nearest labelled rows."""
        embeddings = unit_rows(embeddings)
        labelled = ~np.isnan(self.memory_quality)  # (N, M)
        out = np.empty((len(embeddings), self.memory_quality.shape[1]))
        # Models labelled on the same rows share one neighbour search.
        patterns, group = np.unique(labelled.T, axis=0, return_inverse=True)
        for g, rows_mask in enumerate(patterns):
            columns = np.flatnonzero(group.ravel() == g)
            rows = np.flatnonzero(rows_mask)
            if rows.size == 0:
                out[:, columns] = self.prior[columns]
                continue
            k = min(self.n_neighbours, rows.size)
            bank, labels = self.memory[rows], self.memory_quality[np.ix_(rows, columns)]
            for start in range(0, len(embeddings), batch):
                sims = embeddings[start:start + batch] @ bank.T  # (B, R) cosine similarity
                nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < rows.size else np.broadcast_to(np.arange(rows.size), (len(sims), rows.size))
                out[start:start + batch][:, columns] = labels[nearest].mean(axis=1)
        return out

    def apply(self, net_quality: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        """(Q, M) network quality and (Q, d) sentence embeddings -> (Q, M) blended quality in [0, 1]."""
        blended = self.net_weight * np.asarray(net_quality, dtype=float) + self.prior_weight * self.prior
        if self.neighbour_weight > 0:
            blended = blended + self.neighbour_weight * self.neighbour_quality(embeddings)
        if self.linear_weight > 0:
            blended = blended + self.linear_weight * self.linear_quality(embeddings)
        if self.task_weight > 0:
            blended = blended + self.task_weight * self.task_type_quality(embeddings)
        return self.with_peer_evidence(np.clip(blended, 0.0, 1.0), np.flatnonzero(self.peer_weight > 0))

    def with_peer_evidence(self, blended: np.ndarray, columns) -> np.ndarray:
        """(Q, M) blended quality with the peer evidence of `columns` mixed in (a copy)."""
        blended = np.array(blended, dtype=float)
        # In column order, so a model added after another reads that one's final prediction, as when it was fitted.
        for j in sorted(columns):
            peer = np.clip(blended @ self.peer_coef[j] + self.peer_intercept[j], 0.0, 1.0)
            blended[:, j] = (1 - self.peer_weight[j]) * blended[:, j] + self.peer_weight[j] * peer
        return blended

    def linear_quality(self, embeddings: np.ndarray) -> np.ndarray:
        """(Q, d) -> (Q, M) the ridge regression's quality, clipped to [0, 1]."""
        return np.clip(unit_rows(embeddings) @ self.linear_coef.T + self.linear_intercept, 0.0, 1.0).astype(float)

    def task_type_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(Q, d) -> (Q, T) predicted probability of each task type."""
        return task_type_probabilities(self.task_coef, self.task_intercept, embeddings)

    def task_type_quality(self, embeddings: np.ndarray) -> np.ndarray:
        """(Q, d) -> (Q, M) each model's mean quality over the query's task type, weighted by the type's probability."""
        return self.task_type_probabilities(embeddings) @ self.task_quality.astype(float)

    def with_candidate(self, embeddings: np.ndarray, quality: np.ndarray, others_quality: np.ndarray | None = None) -> "QualityBlend":
        """One more model, labelled on `embeddings` (its sample queries) only: (n, d) and (n,).

        Args:
            others_quality: (n, M) this blend's predicted quality of the existing models on the same queries. With it,
                the newcomer's prior and per-type means are its offset from their average, put on their population
                levels (see the module docstring); without it, its raw sample means.
        """
        n, m = len(embeddings), self.memory_quality.shape[1]
        quality = np.asarray(quality, dtype=float)
        old = np.hstack([self.memory_quality, np.full((len(self.memory), 1), np.nan)])
        new = np.hstack([np.full((n, m), np.nan), quality.reshape(n, 1)])
        # Its samples carry no task type of their own: each counts towards the types it is predicted to be, softly.
        share = self.task_type_probabilities(embeddings) if self.task_types else np.zeros((n, 0))  # (n, T)
        if others_quality is None:  # no reference level: offsets from zero, i.e. raw sample means
            sample_level, population_level, type_level = np.zeros(n), 0.0, np.zeros(len(self.task_types))
        else:
            sample_level = np.asarray(others_quality, dtype=float).mean(axis=1)  # (n,)
            population_level = float(self.prior.mean())
            type_level = self.task_quality.astype(float).mean(axis=1)  # (T,) the existing models' average per type
        prior = float(np.clip(population_level + np.mean(quality - sample_level), 0.0, 1.0))
        residual = quality - share @ type_level  # (n,) each sample's label against its types' reference level
        task_column = np.clip(type_level + (share.T @ residual + TASK_TYPE_PSEUDO_COUNT * residual.mean())
                              / (share.sum(axis=0) + TASK_TYPE_PSEUDO_COUNT), 0.0, 1.0)
        # Too few labels for a 384-weight regression: the newcomer's linear evidence is its mean.
        return replace(self, memory=np.vstack([self.memory, embeddings]), memory_quality=np.vstack([old, new]),
                       task_quality=np.hstack([self.task_quality, task_column.reshape(-1, 1)]),
                       prior=np.r_[self.prior, prior], linear_coef=np.vstack([self.linear_coef, np.zeros((1, self.memory.shape[1]))]),
                       linear_intercept=np.r_[self.linear_intercept, prior],
                       peer_coef=np.pad(self.peer_coef, ((0, 1), (0, 1))), peer_intercept=np.r_[self.peer_intercept, 0.0],
                       peer_weight=np.r_[self.peer_weight, 0.0])

    def with_peer(self, others_quality: np.ndarray, quality: np.ndarray) -> "QualityBlend":
        """The last model's peer evidence, fitted on its labelled samples.

        Args:
            others_quality: (n, M-1) this blend's predicted quality of every earlier model on the samples.
            quality: (n,) the last model's labels there.
        """
        from sklearn.linear_model import RidgeCV

        others_quality = np.asarray(others_quality, dtype=float)
        average = others_quality.mean(axis=1)  # (n,)
        # Regress the offset from the others' average, so the penalty shrinks towards "like them, plus a constant"
        # rather than towards the sample's own mean; the average's weight 1/(M-1) per model is added back.
        fit = RidgeCV(alphas=PEER_ALPHAS).fit(others_quality, np.asarray(quality, dtype=float) - average)
        coef, intercept, weight = self.peer_coef.copy(), self.peer_intercept.copy(), self.peer_weight.copy()
        coef[-1, :-1], intercept[-1], weight[-1] = fit.coef_ + 1.0 / others_quality.shape[1], fit.intercept_, PEER_WEIGHT
        return replace(self, peer_coef=coef, peer_intercept=intercept, peer_weight=weight)


def _ridge(embeddings: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=RIDGE_ALPHA).fit(embeddings, quality)
    return np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_)


def task_type_probabilities(coef: np.ndarray, intercept: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """The task-type classifier's softmax: (T, d), (T,) and (Q, d) sentence embeddings -> (Q, T)."""
    logits = unit_rows(embeddings) @ np.asarray(coef).T + np.asarray(intercept)
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (weights / weights.sum(axis=1, keepdims=True)).astype(float)


def fit_task_types(memory: np.ndarray, categories, quality: np.ndarray) -> dict:
    """Task-type classifier and per-type mean quality, as QualityBlend fields; {} when there are fewer than two types."""
    from sklearn.linear_model import LogisticRegression

    if categories is None:
        return {}
    categories = np.asarray(categories).astype(str)
    known = ~np.isin(np.char.lower(np.char.strip(categories)), list(_NO_TASK_TYPE))
    names, codes = np.unique(categories[known], return_inverse=True)
    if len(names) < 2:
        return {}
    fit = LogisticRegression(C=TASK_TYPE_C, max_iter=2000).fit(memory[known], codes)
    coef, intercept = fit.coef_, fit.intercept_
    if len(names) == 2:  # scikit-learn fits one logit for two classes: softmax over (0, z) is the same sigmoid
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
    labelled, prior = quality[known], quality.mean(axis=0)
    counts = np.bincount(codes, minlength=len(names)).astype(float)[:, None]  # (T, 1)
    sums = np.stack([labelled[codes == i].sum(axis=0) for i in range(len(names))])  # (T, M)
    return {"task_types": tuple(names), "task_coef": coef, "task_intercept": intercept,
            "task_quality": (sums + TASK_TYPE_PSEUDO_COUNT * prior) / (counts + TASK_TYPE_PSEUDO_COUNT)}


def fit_blend(net_quality: np.ndarray, embeddings: np.ndarray, quality: np.ndarray, validation: np.ndarray,
              fallback_check=None, categories=None) -> tuple[QualityBlend, QualityBlend, dict]:
    """Choose the blend on the validation rows; the returned blend remembers every row.

    Args:
        net_quality: (V, M) the network's predictions for the validation rows (it never trained on them).
        embeddings: (N, d) sentence embeddings of all training rows; quality: (N, M) their labels.
        validation: (V,) indices of the validation rows within those N.
        categories: (N,) task type of each training row (the data's `category` column), or None.
        fallback_check: optional callable(blend quality (V, M)) -> score, higher better (validation AIQ). If the
            chosen blend scores below the prior alone, the prior alone is used: never worse than the best fixed model
            on the data we can check.
    Returns:
        the blend (remembering every row), the same blend fitted without the validation rows (for honest
        validation figures), and a record of the choice (weights, validation errors).
    """
    quality = np.asarray(quality, dtype=float)
    memory = as_memory(embeddings)
    inner = np.setdiff1d(np.arange(len(quality)), validation)
    target = quality[validation]
    prior_inner = quality[inner].mean(axis=0)
    coef, intercept = _ridge(memory[inner], quality[inner])
    inner_types = fit_task_types(memory[inner], None if categories is None else np.asarray(categories)[inner], quality[inner])

    def inner_blend(a=0.0, b=0.0, c=0.0, k=NEIGHBOUR_COUNTS[0], d=0.0):
        return QualityBlend(memory[inner], quality[inner], prior_inner, a, b, k, coef, intercept, c, **inner_types, task_weight=d)

    linear = inner_blend().linear_quality(memory[validation])
    task_type = inner_blend().task_type_quality(memory[validation]) if inner_types else None
    steps = np.round(np.arange(0, 1 + 1e-9, WEIGHT_STEP), 2)
    tried = []  # (mean squared error, a, b, c, d, k)
    for k in NEIGHBOUR_COUNTS:
        neighbours = inner_blend(k=k).neighbour_quality(memory[validation])
        for a in steps:
            for b in steps[steps <= 1 - a + 1e-9]:
                for c in steps[steps <= 1 - a - b + 1e-9]:
                    for d in (steps[steps <= 1 - a - b - c + 1e-9] if task_type is not None else [0.0]):
                        predicted = a * net_quality + b * neighbours + c * linear + (1 - a - b - c - d) * prior_inner
                        if d > 0:
                            predicted = predicted + d * task_type
                        tried.append((float(((predicted - target) ** 2).mean()), float(a), float(b), float(c), float(d), k))
    error, a, b, c, d, k = min(tried, key=lambda t: t[0])
    record = {"net_weight": a, "neighbour_weight": b, "linear_weight": c, "task_type_weight": d,
              "prior_weight": round(max(0.0, 1 - a - b - c - d), 2) + 0.0,
              "n_task_types": len(inner_types.get("task_types", ())),
              "n_neighbours": k, "validation_mse": error,
              "validation_mse_network_alone": float(np.mean((net_quality - target) ** 2)),
              "validation_mse_prior_alone": float(np.mean((prior_inner - target) ** 2))}
    if fallback_check is not None and (a, b, c, d) != (0.0, 0.0, 0.0, 0.0):
        chosen = fallback_check(inner_blend(a, b, c, k, d).apply(net_quality, memory[validation]))
        prior_only = fallback_check(np.tile(prior_inner, (len(validation), 1)))
        record.update(validation_aiq=chosen, validation_aiq_prior_alone=prior_only)
        if chosen < prior_only:
            a = b = c = d = 0.0
            record.update(net_weight=0.0, neighbour_weight=0.0, linear_weight=0.0, task_type_weight=0.0, prior_weight=1.0,
                          fell_back_to_prior=True)
    full_coef, full_intercept = _ridge(memory, quality)
    # Only a router that uses the task types carries them (older artifacts keep their digest).
    full_types = fit_task_types(memory, categories, quality) if d > 0 else {}
    final = QualityBlend(memory, quality, quality.mean(axis=0), a, b, k, full_coef, full_intercept, c, **full_types, task_weight=d)
    return final, inner_blend(a, b, c, k, d), record
