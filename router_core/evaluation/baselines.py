"""Baseline routers, run on the same split as CrossRoute's router.

One abstract method (`curve`) plus a name -> class registry, like RouteLLM's ROUTER_CLS. Constructors only store
hyperparameters; `fit(train, seed)` starts anew and returns self; learned attributes end in `_`.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from scipy.optimize import nnls
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import NearestNeighbors
from sklearn.neural_network import MLPRegressor

from router_core.data.labelled import LabelledSet
from router_core.errors import RouterInputError
from router_core.policy.curves import curve_frame, curve_from_scores
from router_core.policy.rule import Policy, hard_choice, soft_cost, soft_quality_band
from router_core.quality.neighbours import unit_rows
from router_core.quality.task_type import fit_task_types, task_type_probabilities


class Baseline(ABC):
    """A router to compare against: fitted on a training set, measured as a λ curve on a test set."""

    name: ClassVar[str]

    def fit(self, train: LabelledSet, seed: int = 0) -> "Baseline":
        """Learn from `train` anew (everything seeded by `seed`); returns self."""
        self.candidates_ = list(train.candidates)
        return self

    @abstractmethod
    def curve(self, test: LabelledSet, lams, policy: Policy) -> pd.DataFrame:
        """Measured curve on `test`: the columns of evaluate.curve_from_scores (lam, cost, quality, share_*)."""

    def _check_test(self, test: LabelledSet) -> None:
        if not hasattr(self, "candidates_"):
            raise RuntimeError(f"baseline {self.name!r} is not fitted; call fit(train) first")
        if test.candidates != self.candidates_:
            raise RouterInputError(f"baseline {self.name!r}: test candidates {test.candidates} differ from the "
                                   f"training candidates {self.candidates_}")


def _need_features(name: str, data: LabelledSet) -> None:
    if data.features is None:
        raise RouterInputError(f"baseline {name!r} routes on sentence embeddings, and {data.source} carries none; "
                               "add them with comparison.featurise(data, encoder)")


class PredictiveBaseline(Baseline):
    """Predicts (Q, M) quality from features and routes with the linear policy.

    Its cost prediction is always an average of training rows' costs, weighted by the query's features (its
    neighbours, its cluster, its task type, or every row). A call's cost is linear in its token counts, so the same
    average of the token counts priced at any catalog is the cost prediction at those prices: a price edit re-prices
    the cached `predictions` with arithmetic instead of a refit.
    """

    def fit(self, train: LabelledSet, seed: int = 0) -> "PredictiveBaseline":
        super().fit(train, seed)
        _need_features(self.name, train)
        self.train_cost_ = train.cost  # (Q, M)
        self.train_tokens_ = (None if train.input_tokens is None or train.output_tokens is None
                              else (train.input_tokens, train.output_tokens))
        return self

    @abstractmethod
    def predict_quality(self, features: np.ndarray) -> np.ndarray:
        """(Q, d) features -> (Q, M) predicted quality; columns follow candidates_."""

    def average_rows(self, features: np.ndarray, values: np.ndarray) -> np.ndarray:
        """(Q_train, k) values of the training rows -> (Q, k): how the cost prediction averages them (default: the
        plain mean, for baselines that predict quality only)."""
        return np.tile(values.mean(axis=0), (len(features), 1))

    def predict_quality_cost(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Q, d) features -> (Q, M) predicted quality, (Q, M) predicted USD; columns follow candidates_."""
        return self.predict_quality(features), self.average_rows(features, self.train_cost_)

    def predictions(self, test: LabelledSet) -> dict[str, np.ndarray] | None:
        """What `curve` routes on, at no particular price: quality (Q, M), input_tokens (Q,) and output_tokens (Q, M)
        averaged as the cost prediction averages costs; None when the training set had no token counts."""
        self._check_test(test)
        _need_features(self.name, test)
        if self.train_tokens_ is None:
            return None
        input_tokens, output_tokens = self.train_tokens_
        tokens = self.average_rows(test.features, np.column_stack([input_tokens, output_tokens]))  # (Q, 1 + M)
        return {"quality": self.predict_quality(test.features), "input_tokens": tokens[:, 0],
                "output_tokens": tokens[:, 1:]}

    def curve(self, test: LabelledSet, lams, policy: Policy) -> pd.DataFrame:
        self._check_test(test)
        _need_features(self.name, test)
        quality_hat, cost_hat = self.predict_quality_cost(test.features)
        return curve_from_scores(quality_hat, cost_hat, test, lams, policy)


class SingleBaseline(Baseline):
    """Always one candidate: a one-point curve (lam is NaN, the point does not depend on λ)."""

    name = "single"

    def __init__(self, candidate: str):
        self.candidate = candidate

    def fit(self, train: LabelledSet, seed: int = 0) -> "SingleBaseline":
        if self.candidate not in train.candidates:
            raise RouterInputError(f"single-model baseline: no candidate {self.candidate!r}; the set has {', '.join(train.candidates)}")
        return super().fit(train, seed)

    def curve(self, test, lams, policy):
        self._check_test(test)
        j = test.candidates.index(self.candidate)
        return curve_frame([np.nan], [test.cost[:, j].mean()], [test.quality[:, j].mean()],
                           np.eye(len(test.candidates))[[j]], test.candidates)


class RandomBaseline(Baseline):
    """Random mixing of the cheapest and the best single model (on train): send a share p = 1 − λ to the best.

    Expected values, not a sampled draw, so the curve is the straight line between the two models.
    """

    name = "random"

    def fit(self, train, seed=0):
        super().fit(train, seed)
        mean_cost, mean_quality = train.cost.mean(axis=0), train.quality.mean(axis=0)
        self.cheapest_ = int(np.argmin(mean_cost))
        self.best_ = int(np.lexsort((mean_cost, -mean_quality))[0])  # ties to the cheaper model
        return self

    def curve(self, test, lams, policy):
        self._check_test(test)
        best_share = 1.0 - np.asarray(lams, dtype=float)  # (L,)
        ends = np.array([self.cheapest_, self.best_])
        mix = np.column_stack([1.0 - best_share, best_share])  # (L, 2)
        shares = np.zeros((best_share.size, len(test.candidates)))
        np.add.at(shares, (slice(None), ends), mix)  # add, not assign: the cheapest may also be the best
        return curve_frame(lams, mix @ test.cost[:, ends].mean(axis=0), mix @ test.quality[:, ends].mean(axis=0),
                           shares, test.candidates)


class OracleBaseline(Baseline):
    """Upper bound: routes on the test set's true quality and cost."""

    name = "oracle"

    def curve(self, test, lams, policy):
        self._check_test(test)
        return curve_from_scores(test.quality, test.cost, test, lams, policy)


class KnnBaseline(PredictiveBaseline):
    """Mean quality and cost of the k nearest training queries (cosine distance)."""

    name = "knn"

    def __init__(self, n_neighbors: int = 20):
        self.n_neighbors = n_neighbors

    def fit(self, train, seed=0):
        super().fit(train, seed)
        k = min(self.n_neighbors, train.n_queries)
        self.model_ = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(train.features)
        self.train_quality_ = train.quality
        return self

    def average_rows(self, features, values):
        neighbours = self.model_.kneighbors(features, return_distance=False)  # (Q, k) training rows
        return values[neighbours].mean(axis=1)

    def predict_quality(self, features):
        return self.average_rows(features, self.train_quality_)


class MlpBaseline(PredictiveBaseline):
    """A small multi-output MLP regressor from features to quality; cost is the mean training cost."""

    name = "mlp"

    def __init__(self, hidden_layer_sizes: tuple[int, ...] = (64,), max_iter: int = 1000):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter

    def fit(self, train, seed=0):
        super().fit(train, seed)
        # Early stopping holds out a tenth of the rows; with a few dozen there is too little to hold out.
        early = len(train.quality) >= 50
        self.model_ = MLPRegressor(hidden_layer_sizes=self.hidden_layer_sizes, max_iter=self.max_iter, early_stopping=early,
                                   random_state=seed)
        self.model_.fit(train.features, train.quality)
        return self

    def predict_quality(self, features):
        return np.clip(self.model_.predict(features).reshape(len(features), -1), 0.0, 1.0)  # (Q, M)


class LinearBaseline(PredictiveBaseline):
    """Ridge regression from features to each candidate's quality; cost is the mean training cost."""

    name = "linear"

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, train, seed=0):
        super().fit(train, seed)
        self.model_ = Ridge(alpha=self.alpha).fit(train.features, train.quality)
        return self

    def predict_quality(self, features):
        return np.clip(self.model_.predict(features).reshape(len(features), -1), 0.0, 1.0)  # (Q, M)


class _MatrixFactorisationNet(torch.nn.Module):
    """quality_hat[q, m] = sigmoid(v_m · W x_q + b_m)."""

    def __init__(self, n_features: int, n_candidates: int, dim: int):
        super().__init__()
        self.projection = torch.nn.Linear(n_features, dim, bias=False)  # W
        self.candidate_embedding = torch.nn.Parameter(torch.randn(n_candidates, dim) / dim ** 0.5)  # v_m
        self.candidate_bias = torch.nn.Parameter(torch.zeros(n_candidates))  # b_m

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        # (Q, d) @ (d, dim) -> (Q, dim); (Q, dim) @ (dim, M) -> (Q, M) logits
        return self.projection(features) @ self.candidate_embedding.T + self.candidate_bias


@contextmanager
def _one_torch_thread():
    # The steps are tiny, so thread hand-offs cost more than the maths: under CPU contention from another
    # process, two intra-op threads turned a 0.1 s fit into 20 s. Restored afterwards (the setting is process-wide).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class MatrixFactorisationBaseline(PredictiveBaseline):
    """RouteLLM-style matrix factorisation, trained pointwise with BCE on quality (soft labels in [0, 1]).

    RouteLLM's MF is pairwise (Bradley–Terry on arena wins) with L2-normalised candidate embeddings and a learned
    weighting vector; we have a quality per (query, candidate), so we fit it directly, keeping RouteLLM's
    projection of the query embedding, its Adam + weight decay and its Gaussian noise on the query embedding.
    """

    name = "mf"

    def __init__(self, dim: int = 32, epochs: int = 300, learning_rate: float = 1e-2, weight_decay: float = 1e-5,
                 noise: float = 0.05):
        self.dim = dim
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.noise = noise  # RouteLLM's alpha: "adding noise to stablize the training"

    def fit(self, train, seed=0):
        super().fit(train, seed)
        features = torch.as_tensor(train.features)  # (Q, d)
        target = torch.as_tensor(train.quality, dtype=torch.float32)  # (Q, M)
        with torch.random.fork_rng(devices=[]), _one_torch_thread():  # seed locally; leave the global RNG alone
            torch.manual_seed(seed)
            self.net_ = _MatrixFactorisationNet(features.shape[1], target.shape[1], self.dim)
            optimiser = torch.optim.Adam(self.net_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
            loss_fn = torch.nn.BCEWithLogitsLoss()
            for _ in range(self.epochs):  # full batch: labelled sets are a few thousand queries
                noisy = features + self.noise * torch.randn_like(features)
                loss = loss_fn(self.net_(noisy), target)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        self.net_.eval()
        return self

    def predict_quality(self, features):
        with torch.no_grad():
            quality = torch.sigmoid(self.net_(torch.as_tensor(np.asarray(features, dtype=np.float32)))).numpy()  # (Q, M)
        return quality.astype(float)


class ClassifierBaseline(PredictiveBaseline):
    """Logistic regression on the best candidate per query; predict_proba is the quality score."""

    name = "classifier"

    def __init__(self, C: float = 1.0, max_iter: int = 1000):
        self.C = C
        self.max_iter = max_iter

    def fit(self, train, seed=0):
        super().fit(train, seed)
        best = hard_choice(train.quality, train.cost)  # (Q,) highest quality, ties to the cheaper call
        self.classes_ = np.unique(best)
        self.model_ = None
        if self.classes_.size > 1:  # LogisticRegression refuses a single class
            self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=seed).fit(train.features, best)
            self.classes_ = self.model_.classes_
        return self

    def predict_quality(self, features):
        probability = np.zeros((len(features), len(self.candidates_)))  # (Q, M); never-best candidates stay 0
        if self.model_ is None:
            probability[:, self.classes_[0]] = 1.0
        else:
            probability[:, self.classes_] = self.model_.predict_proba(features)  # columns follow classes_
        return probability


class ClusterBaseline(PredictiveBaseline):
    """REGROUP-style: k-means on normalised embeddings, per-cluster mean quality and cost of each candidate."""

    name = "cluster"

    def __init__(self, n_clusters: int | None = None):
        self.n_clusters = n_clusters  # None: about one cluster per 50 training queries, between 8 and 20

    def fit(self, train, seed=0):
        super().fit(train, seed)
        k = self.n_clusters or int(np.clip(train.n_queries // 50, 8, 20))
        k = min(k, train.n_queries)
        self.model_ = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(unit_rows(train.features))
        self.train_quality_ = train.quality
        return self

    def average_rows(self, features, values):
        one_hot = np.eye(self.model_.n_clusters)[self.model_.labels_]  # (Q_train, k)
        counts = one_hot.sum(axis=0)[:, None]  # (k, 1), every k-means cluster holds at least one query
        cluster_means = one_hot.T @ values / counts  # (k, Q_train) @ (Q_train, n) -> (k, n)
        return cluster_means[self.model_.predict(unit_rows(features))]

    def predict_quality(self, features):
        return self.average_rows(features, self.train_quality_)


class TaskTypeBaseline(PredictiveBaseline):
    """Each candidate's mean quality and cost over the query's task type, the type predicted from the features by a
    logistic regression fitted on the training set's `category` column (the router's task-type evidence, alone).
    Without categories it is each candidate's overall mean: the best fixed model per λ."""

    name = "task-type"

    def fit(self, train, seed=0):
        super().fit(train, seed)
        self.types_ = fit_task_types(unit_rows(train.features), train.categories, train.quality)
        if self.types_:
            self.train_shares_ = self._shares(train.features)  # (Q, T): soft type counts, as the quality means are shrunk
        self.mean_quality_ = train.quality.mean(axis=0)
        return self

    def _shares(self, features):
        return task_type_probabilities(self.types_["coef"], self.types_["intercept"], features)

    def average_rows(self, features, values):
        if not self.types_:
            return super().average_rows(features, values)
        type_means = self.train_shares_.T @ values / np.maximum(self.train_shares_.sum(axis=0)[:, None], 1e-9)  # (T, n)
        return self._shares(features) @ type_means

    def predict_quality(self, features):
        if not self.types_:
            return np.tile(self.mean_quality_, (len(features), 1))
        return self._shares(features) @ self.types_["type_quality"]


class CallEveryBaseline(Baseline):
    """MoA-style: call every candidate, then the dearest merges the answers. One point, quality an ESTIMATE.

    Offline data holds each candidate's own quality, not the merged answer's, so `quality` is the best of all
    answers (upper end of the band) and `quality_low` their mean; `estimate` is True (an estimate, never a measurement).
    """

    name = "call-every"

    def fit(self, train, seed=0):
        super().fit(train, seed)
        self.aggregator_ = int(np.argmax(train.cost.mean(axis=0)))
        self.aggregator_mean_cost_ = float(train.cost[:, self.aggregator_].mean())
        self.prices_ = None  # USD per 1M (input, output) tokens of the aggregator
        self.aggregator_output_tokens_ = 0.0
        if train.output_tokens is not None:
            self.aggregator_output_tokens_ = float(train.output_tokens[:, self.aggregator_].mean())
            # LabelledSet holds USD per call, not list prices; a call's cost is linear in its token counts.
            input_tokens = _or_zeros(train.input_tokens, train.n_queries)
            design = np.column_stack([input_tokens, train.output_tokens[:, self.aggregator_]])  # (Q, 2)
            self.prices_ = nnls(design, train.cost[:, self.aggregator_] * 1e6)[0]
        return self

    def curve(self, test, lams, policy):
        self._check_test(test)
        n_candidates = len(test.candidates)
        everyone = np.tile(np.arange(n_candidates), (test.n_queries, 1))  # (Q, M)
        if self.prices_ is None or test.output_tokens is None:
            # No token counts to price the merge call: charge one typical aggregator call (an underestimate,
            # since the real merge call reads every answer).
            cost = test.cost.sum(axis=1) + self.aggregator_mean_cost_
        else:
            cost = soft_cost(test.cost, everyone, _or_zeros(test.input_tokens, test.n_queries), test.output_tokens,
                             self.prices_[0], self.prices_[1], self.aggregator_output_tokens_)
        merge_weights = np.full((test.n_queries, n_candidates), 1.0 / n_candidates)  # nobody is preferred
        quality_low, quality_high = soft_quality_band(test.quality, everyone, merge_weights)
        return curve_frame([np.nan], [cost.mean()], [quality_high.mean()], np.ones((1, n_candidates)), test.candidates,
                           quality_low=[quality_low.mean()], estimate=[True])


def _or_zeros(values: np.ndarray | None, n_queries: int) -> np.ndarray:
    return np.zeros(n_queries) if values is None else values


BASELINES: dict[str, type[Baseline]] = {cls.name: cls for cls in (
    SingleBaseline, RandomBaseline, OracleBaseline, KnnBaseline, MlpBaseline, LinearBaseline,
    MatrixFactorisationBaseline, ClassifierBaseline, ClusterBaseline, TaskTypeBaseline, CallEveryBaseline)}


def repriced_curve(name: str, predicted: dict[str, np.ndarray], test: LabelledSet, catalog, lams,
                   policy: Policy) -> pd.DataFrame:
    """A predictive baseline's curve at `catalog`'s prices from its cached `predictions` (test already re-priced):
    the curve a refit at those prices gives, with arithmetic only."""
    cost_hat = catalog.subset(list(test.candidates)).cost_matrix(predicted["input_tokens"], predicted["output_tokens"])
    curve = curve_from_scores(predicted["quality"], cost_hat, test, lams, policy)
    curve.attrs["fit_seconds"] = 0.0
    return curve


def baseline_names(candidates: list[str]) -> list[str]:
    """Every baseline name for a candidate set, with `single` expanded to `single:<candidate>`."""
    return [f"single:{c}" for c in candidates] + [name for name in BASELINES if name != "single"]


def make_baseline(name: str) -> Baseline:
    """A baseline with default hyperparameters from its registry name (`single:<candidate>` for one model)."""
    if name.startswith("single:"):
        return SingleBaseline(name.removeprefix("single:"))
    if name in BASELINES and name != "single":
        return BASELINES[name]()
    raise RouterInputError(f"unknown baseline {name!r}; choose from single:<candidate>, "
                           f"{', '.join(n for n in BASELINES if n != 'single')}")


def run_baselines(train: LabelledSet, test: LabelledSet, lams, policy: Policy,
                  names: list[str] | None = None, seed: int = 0, progress=None,
                  predictions: dict | None = None) -> dict[str, pd.DataFrame]:
    """Fit each baseline on `train` and measure its curve on `test`; `progress(done, total, name)` after each.

    `single` in `names` expands to every candidate. Each curve's fit wall time in seconds is in
    curve.attrs["fit_seconds"] (evaluate.compare reports it).
    Args:
        predictions: a dict to fill with each predictive baseline's price-free `predictions(test)`, for re-pricing.
    """
    if train.candidates != test.candidates:
        raise RouterInputError(f"train and test candidates differ: {train.candidates} vs {test.candidates}")
    if names is None:
        names = baseline_names(train.candidates)
    expanded = [n for name in names for n in ([f"single:{c}" for c in train.candidates] if name == "single" else [name])]
    curves = {}
    for name in expanded:
        baseline = make_baseline(name)
        started = time.perf_counter()
        baseline.fit(train, seed=seed)
        fit_seconds = time.perf_counter() - started
        curve = baseline.curve(test, lams, policy)
        curve.attrs["fit_seconds"] = fit_seconds
        if predictions is not None and isinstance(baseline, PredictiveBaseline):
            predicted = baseline.predictions(test)
            if predicted is not None:
                predictions[name] = predicted
        curves[name] = curve
        if progress is not None:
            progress(len(curves), len(expanded), name)
    return curves
LEARNED = ["knn", "mlp", "linear", "mf", "classifier", "cluster"]  # the predictive routers (no fixed or oracle ones)
SUPERVISED = ["task-type"]  # predictive too, but trained on the data's category column, which the routers above ignore

# What each row of a comparison is, in a user's words (the dashboard shows these beside its table).
DESCRIPTIONS = {
    "cross-attention": "CrossRoute's router (the one loaded), routed with its λ policy",
    "oracle": "knows every held-out query's measured outcome: an upper bound no router can reach",
    "random": "sends a share 1 − λ of queries, at random, to the best model and the rest to the cheapest",
    "knn": "mean quality and cost of the query's nearest training queries",
    "mlp": "a small neural network from the query embedding to each model's quality",
    "linear": "ridge regression from the query embedding to each model's quality",
    "mf": "matrix factorisation (RouteLLM style): query and model vectors whose product predicts quality",
    "classifier": "logistic regression that predicts which model is best for the query",
    "cluster": "k-means clusters of training queries; each model's mean quality and cost in the query's cluster",
    "task-type": "each model's mean quality and cost in the query's task type (the data's category column, "
                 "predicted from the text for a new query)",
    "call-every": "calls every model and merges the answers; its quality is an estimate (best of the answers)",
    "single:<model>": "always that one model",
}
