"""Reading and validating labelled routing sets: long format, or RouterBench's wide one; every problem named by row."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.data.catalog import Catalog
from router_core.data.tables import cell_text, read_table, row_label
from router_core.errors import RouterInputError

LABELLED_REQUIRED = ["query_id", "query", "model", "quality"]
WIDE_COST_SUFFIX = "|total_cost"



























# ---------------------------------------------------------------- catalog files




# ---------------------------------------------------------------- labelled routing sets


@dataclass
class LabelledSet:
    """A labelled routing set as aligned arrays: one row per query, one column per candidate.

    The one container for labelled data: loaders fill the text; `with_features` adds the sentence embeddings the
    baselines route on; `from_arrays` builds one from arrays alone (synthetic tests and measurements).
    """

    query_ids: np.ndarray  # (Q,) str
    queries: list[str]
    candidates: list[str]
    quality: np.ndarray  # (Q, M) measured, in [0, 1]
    cost: np.ndarray  # (Q, M) USD per call
    categories: np.ndarray | None = None  # (Q,) str
    input_tokens: np.ndarray | None = None  # (Q,)
    output_tokens: np.ndarray | None = None  # (Q, M)
    source: str = "labelled set"
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows left out, with a reason (missing="drop")
    features: np.ndarray | None = None  # (Q, d) float32 sentence embeddings, for the baselines

    def __post_init__(self):
        self.query_ids = np.asarray(self.query_ids).astype(str)
        self.queries = list(self.queries)
        self.candidates = [str(c) for c in self.candidates]
        self.quality = np.asarray(self.quality, dtype=float)
        self.cost = np.asarray(self.cost, dtype=float)
        n_queries, n_candidates = len(self.queries), len(self.candidates)
        if n_queries == 0 or n_candidates == 0:
            raise RouterInputError(f"{self.source}: needs at least one query and one model, got {n_queries} and {n_candidates}")
        if len(set(self.candidates)) != n_candidates:
            raise RouterInputError(f"{self.source}: model names must be unique, got {self.candidates}")
        expected = (n_queries, n_candidates)
        self._check_shape("query_ids", self.query_ids, (n_queries,))
        for name in ("quality", "cost"):
            if getattr(self, name).shape != expected:
                raise RouterInputError(f"{self.source}: {name} has shape {getattr(self, name).shape}, expected (queries, models) = "
                                       f"{expected} (one column per model: {', '.join(self.candidates)})")
        self._check_values("quality", self.quality, 0.0, 1.0, "a quality in [0, 1]")
        self._check_values("cost", self.cost, 0.0, np.inf, "a finite USD cost >= 0")
        if self.categories is not None:
            self.categories = np.asarray(self.categories).astype(str)
            self._check_shape("categories", self.categories, (n_queries,))
        if self.input_tokens is not None:
            self.input_tokens = np.asarray(self.input_tokens, dtype=float)
            self._check_shape("input_tokens", self.input_tokens, (n_queries,))
        if self.output_tokens is not None:
            self.output_tokens = np.asarray(self.output_tokens, dtype=float)
            self._check_shape("output_tokens", self.output_tokens, expected)
        if self.features is not None:
            self.features = np.asarray(self.features, dtype=np.float32)
            if self.features.ndim != 2 or self.features.shape[0] != n_queries:
                raise RouterInputError(f"{self.source}: features must be a (queries, dims) array with {n_queries} rows, "
                                       f"got shape {self.features.shape}")

    def _check_shape(self, name: str, values: np.ndarray, expected: tuple) -> None:
        if values.shape != expected:
            raise RouterInputError(f"{self.source}: {name} has shape {values.shape}, expected {expected}")

    def _check_values(self, name: str, values: np.ndarray, low: float, high: float, what: str) -> None:
        bad = ~np.isfinite(values) | (values < low) | (values > high)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise RouterInputError(f"{self.source}: {name} at query {row}, model {self.candidates[column]!r} is "
                                   f"{values[row, column]}, expected {what} ({int(bad.sum())} bad value(s) in all)")

    @classmethod
    def from_arrays(cls, features, quality, cost, candidates, categories=None, input_tokens=None, output_tokens=None,
                    source: str = "routing arrays") -> "LabelledSet":
        """A labelled set from arrays alone; `features` may be None. Queries are named by their row (their text is unknown)."""
        ids = np.array([f"q{i}" for i in range(len(np.asarray(quality)))])
        return cls(ids, list(ids), list(candidates), quality, cost, categories, input_tokens, output_tokens, source,
                   features=features)

    def __len__(self) -> int:
        return len(self.queries)

    @property
    def n_queries(self) -> int:
        return len(self.queries)

    def with_features(self, features: np.ndarray) -> "LabelledSet":
        """The same set carrying (Q, d) sentence embeddings."""
        return dataclasses.replace(self, features=features)

    def subset(self, index) -> "LabelledSet":
        """The queries at `index` (integer indices or a boolean mask), same models."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        return LabelledSet(self.query_ids[index], [self.queries[i] for i in index], list(self.candidates),
                           self.quality[index], self.cost[index], pick(self.categories), pick(self.input_tokens),
                           pick(self.output_tokens), self.source, features=pick(self.features))

    def models(self, names: list[str]) -> "LabelledSet":
        """The same queries with only these candidates' columns, in this order."""
        missing = [n for n in names if n not in self.candidates]
        if missing:
            raise RouterInputError(f"{self.source}: no model(s) {', '.join(missing)}; it has {', '.join(self.candidates)}")
        cols = [self.candidates.index(n) for n in names]
        return LabelledSet(self.query_ids, list(self.queries), list(names), self.quality[:, cols], self.cost[:, cols],
                           self.categories, self.input_tokens,
                           None if self.output_tokens is None else self.output_tokens[:, cols], self.source, self.dropped,
                           self.features)

    def repriced(self, catalog: Catalog) -> "LabelledSet":
        """Measured costs recomputed from the token counts at the catalog's prices (needs both)."""
        if self.input_tokens is None or self.output_tokens is None:
            raise RouterInputError(f"{self.source}: has no token counts, so its costs cannot be re-priced")
        return dataclasses.replace(self, cost=catalog.subset(self.candidates).cost_matrix(self.input_tokens, self.output_tokens))

    def split(self, test_fraction: float, seed: int) -> tuple["LabelledSet", "LabelledSet"]:
        """Split by query (never one query on both sides), seeded."""
        order = np.random.default_rng(seed).permutation(len(self))
        n_test = max(1, int(round(len(self) * test_fraction)))
        return self.subset(np.sort(order[n_test:])), self.subset(np.sort(order[:n_test]))

    def folds(self, n_folds: int, seed: int) -> list[tuple["LabelledSet", "LabelledSet"]]:
        """K folds by query: (train, test) pairs."""
        order = np.random.default_rng(seed).permutation(len(self))
        parts = np.array_split(order, n_folds)
        return [(self.subset(np.sort(np.concatenate(parts[:k] + parts[k + 1:]))), self.subset(np.sort(parts[k])))
                for k in range(n_folds)]


def _is_wide(frame: pd.DataFrame) -> bool:
    return any(str(c).endswith(WIDE_COST_SUFFIX) for c in frame.columns) and "model" not in frame.columns


def wide_to_long(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """RouterBench's layout (one row per query; `<model>` quality and `<model>|total_cost` columns) to long rows."""
    models = [str(c)[: -len(WIDE_COST_SUFFIX)] for c in frame.columns if str(c).endswith(WIDE_COST_SUFFIX)]
    missing = [m for m in models if m not in frame.columns]
    if missing:
        raise RouterInputError(f"{source}: wide format has {missing[0]}{WIDE_COST_SUFFIX} but no quality column {missing[0]!r}")
    id_col = next((c for c in ("query_id", "sample_id", "id") if c in frame.columns), None)
    query_col = next((c for c in ("query", "prompt", "question") if c in frame.columns), None)
    if query_col is None:
        raise RouterInputError(f"{source}: wide format needs a query column (query, prompt or question)")
    category_col = next((c for c in ("category", "eval_name") if c in frame.columns), None)
    # A model whose cost column is missing would otherwise drop out of training and evaluation without a word.
    known = {*models, *(m + WIDE_COST_SUFFIX for m in models), id_col, query_col, category_col}
    for column in frame.columns:
        name = str(column)
        prefix = name.split("|", 1)[0] if "|" in name else None
        values = pd.to_numeric(frame[column], errors="coerce")
        looks_like_quality = values.notna().any() and values.dropna().between(0, 1).all() and frame[column].notna().sum() == values.notna().sum()
        if column not in known and ((prefix and prefix not in models) or ("|" not in name and looks_like_quality)):
            model = prefix or name
            raise RouterInputError(f"{source}: wide format has no {model}{WIDE_COST_SUFFIX} column, so model {model!r} "
                                   f"(column {name!r}) has no cost; add its cost column or drop its columns")
    ids = pd.Series(_text_cells(frame, id_col, source, np.arange(len(frame)), "an id") if id_col
                    else [f"row{i + 1}" for i in range(len(frame))])
    parts = []
    for m in models:
        part = pd.DataFrame({"query_id": ids.values, "query": frame[query_col].values, "model": m,
                             "quality": frame[m].values, "cost_usd": frame[m + WIDE_COST_SUFFIX].values,
                             "_source_row": np.arange(len(frame))})
        if category_col:
            part["category"] = frame[category_col].values
        parts.append(part)
    return pd.concat(parts, ignore_index=True)




def _text_cells(frame: pd.DataFrame, column: str, source: str, rows: np.ndarray, what: str) -> list[str]:
    """The column as text, exactly as written; an empty or undecodable cell is an error naming its row."""
    texts = []
    for i, value in enumerate(frame[column].tolist()):
        try:
            text = cell_text(value)
        except UnicodeDecodeError as e:
            raise RouterInputError(f"{source}: column {column!r} at {row_label(rows[i])} is binary data, not UTF-8 text") from e
        if text is None:
            raise RouterInputError(f"{source}: column {column!r} is empty at {row_label(rows[i])}; every row needs {what}")
        texts.append(text)
    return texts


def _numeric(frame: pd.DataFrame, column: str, source: str, rows: np.ndarray, minimum: float | None = None) -> np.ndarray:
    cells = frame[column]
    is_bool = cells.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    values = pd.to_numeric(cells.where(~is_bool, np.nan), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        shown = ", ".join(row_label(rows[i]) for i in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise RouterInputError(f"{source}: column {column!r} must be a number; not a number at {shown}{more}")
    if minimum is not None and (values < minimum).any():
        i = np.flatnonzero(values < minimum)[0]
        raise RouterInputError(f"{source}: column {column!r} must be >= {minimum:g}; {row_label(rows[i])} has {values[i]:g}")
    return values


def _category(value) -> str:
    try:
        return cell_text(value) or ""
    except UnicodeDecodeError:
        return ""  # a label for grouping results only: an unreadable one groups with the unlabelled


def _check_one_text_per_id(frame: pd.DataFrame, source: str, rows: np.ndarray) -> None:
    first_text = {}
    for i, (query_id, text) in enumerate(zip(frame["query_id"], frame["query"])):
        seen = first_text.setdefault(query_id, (i, text))
        if seen[1] != text:
            raise RouterInputError(f"{source}: query_id {query_id!r} has two different query texts, at "
                                   f"{row_label(rows[seen[0]])} and {row_label(rows[i])}; give each query its own id")


def labelled_from_frame(frame: pd.DataFrame, catalog: Catalog | None = None, source: str = "labelled set",
                        missing: str = "error") -> LabelledSet:
    """Validate a long (or RouterBench wide) labelled table and pivot it to arrays.

    Args:
        catalog: prices for rows that give input/output tokens instead of cost_usd.
        missing: "error" (default) reports queries that lack a candidate; "drop" leaves them out and lists them
            in `LabelledSet.dropped`.
    """
    if missing not in ("error", "drop"):
        raise ValueError(f"missing must be 'error' or 'drop', got {missing!r}")
    if frame.empty:
        raise RouterInputError(f"{source}: no rows")
    if _is_wide(frame):
        frame = wide_to_long(frame, source)
        rows = frame.pop("_source_row").to_numpy()
    else:
        rows = np.arange(len(frame))
    absent = [c for c in LABELLED_REQUIRED if c not in frame.columns]
    if absent:
        raise RouterInputError(f"{source}: missing column(s) {', '.join(absent)}; a labelled set needs "
                               f"{', '.join(LABELLED_REQUIRED)} and cost_usd or input_tokens + output_tokens "
                               f"(found: {', '.join(map(str, frame.columns))})")
    frame = frame.reset_index(drop=True)
    frame["query_id"] = pd.Series(_text_cells(frame, "query_id", source, rows, "an id"), dtype=object)
    frame["model"] = pd.Series(_text_cells(frame, "model", source, rows, "a model name"), dtype=object)
    frame["query"] = pd.Series(_text_cells(frame, "query", source, rows, "the query text"), dtype=object)
    _check_one_text_per_id(frame, source, rows)
    quality = _numeric(frame, "quality", source, rows)
    outside = np.flatnonzero((quality < 0) | (quality > 1))
    if len(outside):
        i = outside[0]
        raise RouterInputError(f"{source}: column 'quality' must be in [0, 1]; {row_label(rows[i])} has {quality[i]:g}"
                               + (f" ({len(outside)} rows outside in all)" if len(outside) > 1 else ""))
    duplicated = np.flatnonzero(frame.duplicated(["query_id", "model"], keep="first").to_numpy())
    if len(duplicated):
        i = duplicated[0]
        raise RouterInputError(f"{source}: (query_id, model) = ({frame['query_id'][i]}, {frame['model'][i]}) appears twice; "
                               f"second time at {row_label(rows[i])}" + (f" ({len(duplicated)} duplicates in all)" if len(duplicated) > 1 else ""))

    has_tokens = "input_tokens" in frame.columns and "output_tokens" in frame.columns
    if has_tokens:
        frame = frame.assign(input_tokens=_numeric(frame, "input_tokens", source, rows, minimum=0),
                             output_tokens=_numeric(frame, "output_tokens", source, rows, minimum=0))
    if "cost_usd" in frame.columns:
        cost = _numeric(frame, "cost_usd", source, rows, minimum=0)
    elif has_tokens:
        if catalog is None:
            raise RouterInputError(f"{source}: no cost_usd column, so a catalog with prices is needed to price input_tokens + output_tokens")
        unknown = sorted(set(frame["model"]) - set(catalog.names))
        if unknown:
            raise RouterInputError(f"{source}: model(s) {', '.join(unknown)} are not in the catalog ({', '.join(catalog.names)}), so their tokens cannot be priced")
        cost = np.array([catalog[m].cost_usd(i, o) for m, i, o in zip(frame["model"], frame["input_tokens"], frame["output_tokens"])],
                        dtype=float)
    else:
        raise RouterInputError(f"{source}: needs a cost_usd column, or input_tokens and output_tokens priced by the catalog")
    frame = frame.assign(quality=quality, cost_usd=cost)

    candidates = list(dict.fromkeys(frame["model"]))
    if catalog is not None:  # keep the catalog's order where it covers the data, so columns follow it
        candidates = [n for n in catalog.names if n in candidates] + [n for n in candidates if n not in catalog.names]
    queries = frame.drop_duplicates("query_id")[["query_id", "query"] + (["category"] if "category" in frame.columns else [])]
    counts = frame.groupby("query_id", sort=False)["model"].nunique()
    incomplete = counts[counts < len(candidates)].index
    dropped = pd.DataFrame()
    if len(incomplete):
        have = frame[frame["query_id"].isin(incomplete)].groupby("query_id", sort=False)["model"].apply(set)
        first = incomplete[0]
        lacking = sorted(set(candidates) - have[first])
        if missing == "error":
            first_row = rows[np.flatnonzero((frame["query_id"] == first).to_numpy())[0]]
            raise RouterInputError(f"{source}: query_id {first} ({row_label(first_row)}) has no row for model(s) {', '.join(lacking)}; "
                                   f"{len(incomplete)} queries lack some of the {len(candidates)} models "
                                   "(every query needs a quality for every model)")
        dropped = pd.DataFrame({"query_id": list(incomplete),
                                "reason": ["no row for " + ", ".join(sorted(set(candidates) - have[q])) for q in incomplete]})
        queries = queries[~queries["query_id"].isin(incomplete)]
        frame = frame[~frame["query_id"].isin(incomplete)]
        if queries.empty:
            raise RouterInputError(f"{source}: no query has a row for every model ({', '.join(candidates)})")

    def pivot(column):
        return frame.pivot(index="query_id", columns="model", values=column).loc[queries["query_id"], candidates].to_numpy(dtype=float)

    input_tokens = output_tokens = None
    if has_tokens:
        output_tokens = pivot("output_tokens")
        input_tokens = pivot("input_tokens").max(axis=1)  # the prompt is the same for every model
    return LabelledSet(np.array(queries["query_id"].tolist(), dtype=object), queries["query"].tolist(), candidates,
                       pivot("quality"), pivot("cost_usd"),
                       np.array([_category(v) for v in queries["category"]], dtype=object) if "category" in queries.columns else None,
                       input_tokens, output_tokens, source, dropped)


def load_labelled(source, catalog: Catalog | None = None, missing: str = "error", name: str | None = None) -> LabelledSet:
    """Read and validate a labelled routing set file (CSV, JSONL or Parquet; long or wide)."""
    label = name or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "upload"))
    return labelled_from_frame(read_table(source, name), catalog, source=label, missing=missing)


# ---------------------------------------------------------------- request logs






















































