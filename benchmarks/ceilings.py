"""Reference routers that read what no router has at routing time: how far can category-level routing go?

On sets whose winner depends mostly on the task (llmrouter's 14 benchmarks), every router here, ours included, ends
up close to "each model's mean over the query's task type". These rows bound that strategy from above, so a target
can be set against what the data allows:
- `category-known`: each model's training mean over the test query's *true* category (read from the test set).
- `category-known+residual`: the same plus a ridge regression of the within-category residual on the embedding
  (penalty chosen by leave-one-out on the training queries): what per-query text signal adds to a known category.
- `category-oracle`: each model's mean over the category measured on the *test queries themselves* (uses test labels),
  the most any router that routes by category alone can reach on that fold.
- `category-oracle+true-cost`: the same quality, with each test query's actual cost per model instead of its
  category's mean: whether better cost prediction is what category routing lacks.
None of them is a baseline to beat; they are never in `baselines.baseline_names`.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import RidgeCV

from router_core.data.labelled import LabelledSet
from router_core.errors import RouterInputError
from router_core.evaluation.baselines import PredictiveBaseline
from router_core.policy.curves import curve_from_scores

RESIDUAL_ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)


def category_means(categories: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
    """(Q,) category names and (Q, M) values -> each category's (M,) mean."""
    categories = np.asarray(categories).astype(str)
    return {c: values[categories == c].mean(axis=0) for c in np.unique(categories)}


def _lookup(means: dict[str, np.ndarray], categories: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """(Q,) category names -> (Q, M) their means; a category unseen in training gets `fallback`."""
    return np.stack([means.get(str(c), fallback) for c in categories])


def _categories(data: LabelledSet, who: str) -> np.ndarray:
    if data.categories is None:
        raise RouterInputError(f"{who} needs a `category` column in both the training and the test set")
    return data.categories


class CategoryKnown(PredictiveBaseline):
    name = "category-known"

    def fit(self, train, seed=0):
        super().fit(train, seed)
        categories = _categories(train, self.name)
        self.quality_means_ = category_means(categories, train.quality)
        self.cost_means_ = category_means(categories, train.cost)
        self.mean_quality_ = train.quality.mean(axis=0)
        self.mean_cost_ = train.cost.mean(axis=0)
        return self

    def predict_quality(self, features):
        raise RouterInputError(f"{self.name} reads the test set's categories; use curve(test, ...)")

    def known(self, test: LabelledSet) -> tuple[np.ndarray, np.ndarray]:
        categories = _categories(test, self.name)
        return (_lookup(self.quality_means_, categories, self.mean_quality_),
                _lookup(self.cost_means_, categories, self.mean_cost_))

    def curve(self, test, lams, policy):
        self._check_test(test)
        quality, cost = self.known(test)
        return curve_from_scores(quality, cost, test, lams, policy)


class CategoryKnownResidual(CategoryKnown):
    name = "category-known+residual"

    def fit(self, train, seed=0):
        super().fit(train, seed)
        residual = train.quality - _lookup(self.quality_means_, train.categories, self.mean_quality_)  # (Q, M)
        self.residual_ = RidgeCV(alphas=RESIDUAL_ALPHAS).fit(train.features, residual)
        return self

    def curve(self, test, lams, policy):
        self._check_test(test)
        quality, cost = self.known(test)
        quality = np.clip(quality + self.residual_.predict(test.features).reshape(quality.shape), 0.0, 1.0)
        return curve_from_scores(quality, cost, test, lams, policy)


class CategoryOracle(CategoryKnown):
    name = "category-oracle"

    def oracle_quality(self, test) -> np.ndarray:
        categories = _categories(test, self.name)
        return _lookup(category_means(categories, test.quality), categories, self.mean_quality_)

    def oracle_cost(self, test) -> np.ndarray:
        categories = _categories(test, self.name)
        return _lookup(category_means(categories, test.cost), categories, self.mean_cost_)

    def curve(self, test, lams, policy):
        self._check_test(test)
        return curve_from_scores(self.oracle_quality(test), self.oracle_cost(test), test, lams, policy)


class CategoryOracleTrueCost(CategoryOracle):
    name = "category-oracle+true-cost"

    def oracle_cost(self, test) -> np.ndarray:
        return test.cost


CEILINGS = {cls.name: cls for cls in (CategoryKnown, CategoryKnownResidual, CategoryOracle, CategoryOracleTrueCost)}


def run_ceilings(train: LabelledSet, test: LabelledSet, lams, policy) -> dict:
    """Each reference router's measured λ curve on `test` (see the module docstring)."""
    return {name: cls().fit(train).curve(test, lams, policy) for name, cls in CEILINGS.items()}
