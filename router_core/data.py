"""Reading and validating labelled routing sets and request logs (DESIGN.md §4). The only module here that reads user files."""
from __future__ import annotations

import dataclasses
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .catalog import Catalog, catalog_from_litellm_config
from .errors import RouterInputError
from .timestamps import parse_timestamps
from .uploads import check_upload_size

CSV_OPTIONS = {"keep_default_na": False, "na_values": [""]}  # "NA" or "null" is text (a query, an id), not a missing cell
TABLE_SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")
LABELLED_REQUIRED = ["query_id", "query", "model", "quality"]
WIDE_COST_SUFFIX = "|total_cost"

# Request-log aliases, most specific first; matched case-insensitively after stripping spaces/underscores.
LOG_ALIASES = {
    "timestamp": ["timestamp", "time", "created_at", "startTime", "start_time", "datetime", "date", "ts", "request_time"],
    "prompt": ["prompt", "query", "messages", "input", "question", "request", "text"],
    "model": ["model", "model_name", "model_id", "model_group"],
    "input_tokens": ["prompt_tokens", "input_tokens", "tokens_in"],
    "output_tokens": ["completion_tokens", "output_tokens", "tokens_out"],
    "cost_usd": ["spend", "cost", "cost_usd", "total_cost", "response_cost"],
    "latency_ms": ["latency_ms", "latency", "duration_ms", "response_time_ms"],
    "user": ["user", "user_id", "end_user", "api_key_alias"],
    "team": ["team", "team_id", "team_alias", "project"],
    "feedback": ["quality", "feedback", "score", "rating"],
}
LOG_REQUIRED = ("timestamp", "prompt")


def _row_label(i: int) -> str:
    """Rows as a spreadsheet shows them: data row i (0-based) is line i + 2 after the header."""
    return f"row {i + 1} (line {i + 2})"


def _existing_file(source) -> Path:
    path = Path(source)
    try:
        if not path.exists():
            raise RouterInputError(f"{path}: no such file")
        if path.is_dir():
            raise RouterInputError(f"{path}: is a folder; expected a {', '.join(TABLE_SUFFIXES)} file")
        if not path.is_file():
            raise RouterInputError(f"{path}: not a regular file (a device or a pipe); expected a {', '.join(TABLE_SUFFIXES)} file")
    except OSError as e:
        raise RouterInputError(f"{path}: cannot be read ({e.strerror or e})") from e
    return path


def _check_not_binary(data: bytes, name: str, suffix: str) -> None:
    if b"\x00" in data[:65536]:
        raise RouterInputError(f"{name}: looks like a binary file, not {suffix[1:].upper()} text")


def _not_utf8(name: str, where: str) -> RouterInputError:
    return RouterInputError(f"{name}: not UTF-8 text ({where}); save the file as UTF-8 and upload again")


def _json_records(lines, name: str, first_line: int = 1) -> list[dict]:
    """JSONL lines as records; a line that is not a JSON object is an error naming it."""
    records = []
    for number, line in enumerate(lines, start=first_line):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise _not_utf8(name, f"line {number}") from e
        if not line.strip():
            continue
        record = _parse_json(line, name, f"line {number}")
        if not isinstance(record, dict):
            raise RouterInputError(f"{name}: line {number} is a JSON {type(record).__name__}, expected an object "
                                   "such as {\"query\": \"...\"}")
        records.append(record)
    return records


def _parse_json(text: str, name: str, part: str = "the file"):
    try:
        return json.loads(text)
    except RecursionError as e:
        raise RouterInputError(f"{name}: {part} is nested too deeply to read") from e
    except ValueError as e:
        raise RouterInputError(f"{name}: {part} is not valid JSON ({e})") from e


def _records_frame(records: list[dict], name: str) -> pd.DataFrame:
    """A frame from JSON objects, with ids kept as text exactly as written (1 stays "1", never "1.0")."""
    if not records:
        raise RouterInputError(f"{name}: no rows")
    for record in records:
        if "query_id" in record and record["query_id"] is not None and not isinstance(record["query_id"], (dict, list)):
            record["query_id"] = str(record["query_id"])
    return pd.DataFrame(records, dtype=object)  # cells as written: no column-wide guess turns ints into floats


def _json_table(text: str, name: str) -> pd.DataFrame:
    if not text.lstrip().startswith("["):
        return _records_frame(_json_records(text.splitlines(), name), name)
    rows = _parse_json(text, name)
    bad = next((i for i, row in enumerate(rows) if not isinstance(row, dict)), None)
    if bad is not None:
        raise RouterInputError(f"{name}: item {bad} of the JSON array is a {type(rows[bad]).__name__}, expected an object")
    return _records_frame(rows, name)


def _check_columns(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    names = [str(c) for c in frame.columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise RouterInputError(f"{name}: column name(s) {', '.join(map(repr, repeated))} appear more than once; "
                               "give every column its own name")
    return frame


def _read_parquet(data, name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq  # Parquet files only: CSV and JSONL readers do not need it

    try:
        file = pq.ParquetFile(io.BytesIO(data) if isinstance(data, bytes) else data)
        _check_columns(pd.DataFrame(columns=file.schema_arrow.names), name)
        table = file.read()
    except RouterInputError:
        raise
    except Exception as e:  # pyarrow raises several types for a non-Parquet file
        raise RouterInputError(f"{name}: not a readable Parquet file ({type(e).__name__}: {e})") from e
    try:
        return table.to_pandas()
    except Exception as e:  # pyarrow refuses some column types pandas cannot hold
        raise RouterInputError(f"{name}: Parquet columns could not be read ({type(e).__name__}: {e})") from e


def _source_bytes(source, name: str) -> bytes:
    """The bytes of a path (any size: the CLI reads what it is given) or of an upload (within the dashboard's budget)."""
    if isinstance(source, (str, Path)):
        path = _existing_file(source)
        try:
            return path.read_bytes()
        except OSError as e:
            raise RouterInputError(f"{name}: cannot be read ({e.strerror or e})") from e
    data = source.read()
    check_upload_size(name, len(data))
    return data


def read_table(source, name: str | None = None) -> pd.DataFrame:
    """Read a CSV, JSONL/JSON or Parquet table from a path or an uploaded file-like object.

    Args:
        source: a path, or a binary file-like object (then `name` gives its file name and format).
    Raises:
        RouterInputError naming the file, for an unknown format, bad encoding, binary junk, a parse error or a file
        uploaded (file-like) over the dashboard's size limit (uploads.check_upload_size); a path is read whatever its size.
    """
    if isinstance(source, (str, Path)):
        name = name or Path(source).name
    else:
        name = name or getattr(source, "name", "upload")
    data = _source_bytes(source, name)
    if len(data) == 0:
        raise RouterInputError(f"{name}: the file is empty")
    suffix = Path(name).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise RouterInputError(f"{name}: unknown file type {suffix or '(none)'}; expected one of {', '.join(TABLE_SUFFIXES)}")
    if suffix == ".parquet":
        return _read_parquet(data, name)
    _check_not_binary(data, name, suffix)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise _not_utf8(name, f"byte {e.start}, line {line}") from e
    if suffix in (".json", ".jsonl"):
        return _check_columns(_json_table(text, name), name)
    try:
        return _check_columns(pd.read_csv(io.StringIO(text), dtype=object, **CSV_OPTIONS), name)  # cells as written
    except (ValueError, pd.errors.ParserError) as e:
        raise RouterInputError(f"{name}: could not parse as CSV ({str(e).strip().splitlines()[0]})") from e


# ---------------------------------------------------------------- catalog files


def load_catalog(source, name: str | None = None) -> Catalog:
    """A catalog from a CSV/JSON table (columns of catalog.CATALOG_COLUMNS) or a LiteLLM proxy config.yaml."""
    label = name or (Path(source).name if isinstance(source, (str, Path)) else getattr(source, "name", "catalog"))
    if Path(label).suffix.lower() in (".yaml", ".yml"):
        raw = _source_bytes(source, label)
        try:
            config = yaml.safe_load(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as e:
            raise _not_utf8(label, f"byte {e.start}") from e
        except yaml.YAMLError as e:
            raise RouterInputError(f"{label}: not a readable YAML file ({' '.join(str(e).split())})") from e
        except RecursionError as e:
            raise RouterInputError(f"{label}: nested too deeply to read") from e
        return catalog_from_litellm_config(config, source=label)
    return Catalog.from_frame(read_table(source, name), source=label)


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


def _cell_text(value) -> str | None:
    """A cell as text, or None when it is empty; bytes must be UTF-8."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8")  # UnicodeDecodeError is reported by the caller, naming the row
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value)
    return text if text.strip() else None


def _text_cells(frame: pd.DataFrame, column: str, source: str, rows: np.ndarray, what: str) -> list[str]:
    """The column as text, exactly as written; an empty or undecodable cell is an error naming its row."""
    texts = []
    for i, value in enumerate(frame[column].tolist()):
        try:
            text = _cell_text(value)
        except UnicodeDecodeError as e:
            raise RouterInputError(f"{source}: column {column!r} at {_row_label(rows[i])} is binary data, not UTF-8 text") from e
        if text is None:
            raise RouterInputError(f"{source}: column {column!r} is empty at {_row_label(rows[i])}; every row needs {what}")
        texts.append(text)
    return texts


def _numeric(frame: pd.DataFrame, column: str, source: str, rows: np.ndarray, minimum: float | None = None) -> np.ndarray:
    cells = frame[column]
    is_bool = cells.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    values = pd.to_numeric(cells.where(~is_bool, np.nan), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        shown = ", ".join(_row_label(rows[i]) for i in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise RouterInputError(f"{source}: column {column!r} must be a number; not a number at {shown}{more}")
    if minimum is not None and (values < minimum).any():
        i = np.flatnonzero(values < minimum)[0]
        raise RouterInputError(f"{source}: column {column!r} must be >= {minimum:g}; {_row_label(rows[i])} has {values[i]:g}")
    return values


def _category(value) -> str:
    try:
        return _cell_text(value) or ""
    except UnicodeDecodeError:
        return ""  # a label for grouping results only: an unreadable one groups with the unlabelled


def _check_one_text_per_id(frame: pd.DataFrame, source: str, rows: np.ndarray) -> None:
    first_text = {}
    for i, (query_id, text) in enumerate(zip(frame["query_id"], frame["query"])):
        seen = first_text.setdefault(query_id, (i, text))
        if seen[1] != text:
            raise RouterInputError(f"{source}: query_id {query_id!r} has two different query texts, at "
                                   f"{_row_label(rows[seen[0]])} and {_row_label(rows[i])}; give each query its own id")


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
        raise RouterInputError(f"{source}: column 'quality' must be in [0, 1]; {_row_label(rows[i])} has {quality[i]:g}"
                               + (f" ({len(outside)} rows outside in all)" if len(outside) > 1 else ""))
    duplicated = np.flatnonzero(frame.duplicated(["query_id", "model"], keep="first").to_numpy())
    if len(duplicated):
        i = duplicated[0]
        raise RouterInputError(f"{source}: (query_id, model) = ({frame['query_id'][i]}, {frame['model'][i]}) appears twice; "
                               f"second time at {_row_label(rows[i])}" + (f" ({len(duplicated)} duplicates in all)" if len(duplicated) > 1 else ""))

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
            raise RouterInputError(f"{source}: query_id {first} ({_row_label(first_row)}) has no row for model(s) {', '.join(lacking)}; "
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


def _normalise_name(name: str) -> str:
    return str(name).lower().replace("_", "").replace(" ", "").replace("-", "")


def match_log_columns(columns) -> dict[str, str]:
    """Map canonical request-log fields to the file's column names by alias; unmatched fields are absent."""
    by_normal = {}
    for c in columns:
        by_normal.setdefault(_normalise_name(c), c)
    mapping = {}
    used = set()
    for canonical, aliases in LOG_ALIASES.items():
        for alias in aliases:
            column = by_normal.get(_normalise_name(alias))
            if column is not None and column not in used:
                mapping[canonical] = column
                used.add(column)
                break
    return mapping


class _NotAPrompt(ValueError):
    """A prompt cell that cannot be read; its message is the rejection reason."""


def _messages_text(messages) -> str | None:
    if isinstance(messages, dict):
        messages = messages.get("messages", [messages])
    if not isinstance(messages, (list, tuple, np.ndarray)):
        raise _NotAPrompt(f"messages must be a list of {{role, content}} objects, got a {type(messages).__name__}")
    for message in reversed(list(messages)):
        if isinstance(message, dict) and message.get("role", "user") == "user":
            content = message.get("content")
            if isinstance(content, (list, tuple, np.ndarray)):  # multi-part content: keep the text parts
                content = " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
            if content is not None and not isinstance(content, str):
                raise _NotAPrompt(f"the last user message's content is a {type(content).__name__}, not text")
            return (content or "").strip() or None
    raise _NotAPrompt("messages hold no user message")


def last_user_text(messages) -> str:
    """The text of a chat request's last user message (what the router routes on).

    Raises:
        RouterInputError when there is no user message, its content is not text, or it is empty.
    """
    try:
        text = _messages_text(messages)
    except _NotAPrompt as e:
        raise RouterInputError(str(e)) from e
    if text is None:
        raise RouterInputError("the last user message is empty")
    return text


def parse_prompt(value, messages_column: bool = False) -> str | None:
    """The query in a prompt cell: plain text, or the last user message of OpenAI-style `messages` JSON; None if empty.

    Args:
        messages_column: the column holds `messages`, so its text must be valid messages JSON.
    Raises:
        _NotAPrompt (a ValueError) with the reason, for binary that is not UTF-8 or malformed messages.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as e:
            raise _NotAPrompt("binary data that is not UTF-8 text") from e
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        looks_like_json = stripped.startswith(("[{", "{\"", "[]", "{}")) or stripped.startswith(("[", "{")) and messages_column
        if not looks_like_json:
            return stripped
        try:
            value = json.loads(stripped)
        except RecursionError as e:
            raise _NotAPrompt("messages JSON nested too deeply") from e
        except ValueError as e:
            raise _NotAPrompt(f"malformed messages JSON ({e})") from e
    elif not isinstance(value, (dict, list, tuple, np.ndarray)):
        if messages_column:
            raise _NotAPrompt(f"messages must be JSON, got a {type(value).__name__}")
        text = str(value).strip()
        return text or None
    return _messages_text(value)


def prompt_text(value) -> str | None:
    """The query in a prompt cell, or None when it is empty or unreadable (parse_prompt gives the reason)."""
    try:
        return parse_prompt(value)
    except _NotAPrompt:
        return None


_MISSING_WORDS = {"na", "n/a", "nan", "null", "none", "-"}


def _optional_number(value, canonical: str) -> tuple[float, str]:
    """(number or NaN when absent, reason when the cell holds something that is not a usable number)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return math.nan, ""
    if isinstance(value, (bool, np.bool_)):
        return math.nan, f"{canonical} {value!r} is not a number"
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in _MISSING_WORDS:
            return math.nan, ""
        if canonical == "cost_usd" and text.startswith("$"):  # a currency sign on a USD amount, and nothing else
            text = text[1:].strip()
        try:
            number = float(text)
        except ValueError:
            return math.nan, f"{canonical} {value[:40]!r} is not a number"
    elif isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        return math.nan, f"{canonical} is a {type(value).__name__}, not a number"
    if not math.isfinite(number):
        return math.nan, f"{canonical} {number} is not a finite number"
    if canonical != "feedback" and number < 0:
        return math.nan, f"{canonical} {number:g} is negative"
    return number, ""


def _optional_text(values) -> pd.Series:
    texts = []
    for value in values:
        try:
            texts.append(_cell_text(value))
        except UnicodeDecodeError:
            texts.append(None)
    return pd.Series(texts, dtype="string")


@dataclass
class RequestLog:
    """A request log in canonical columns, plus the rows that could not be used and why."""

    frame: pd.DataFrame  # timestamp (UTC), prompt, and whichever optional canonical columns were present
    rejected: pd.DataFrame  # original row number, reason, and the original cells
    mapping: dict[str, str]
    source: str
    columns: list = field(default_factory=list)  # the file's columns as read (for a chunk: that chunk's)


def resolve_log_mapping(columns, mapping: dict[str, str] | None, source: str) -> dict[str, str]:
    """Alias-matched columns overridden by `mapping`; raises naming what is missing or mapped to nothing."""
    columns = list(columns)
    mapping = {**match_log_columns(columns), **(mapping or {})}
    for canonical, column in mapping.items():
        if column not in columns:
            raise RouterInputError(f"{source}: mapped column {column!r} (for {canonical}) is not in the file; columns: {', '.join(map(str, columns))}")
    absent = [c for c in LOG_REQUIRED if c not in mapping]
    if absent:
        expected = "; ".join(f"{c}: one of {', '.join(LOG_ALIASES[c])}" for c in absent)
        raise RouterInputError(f"{source}: no column for {', '.join(absent)} ({expected}); found columns {', '.join(map(str, columns))}. "
                               "Map them by hand.")
    return mapping


def parse_log_rows(frame: pd.DataFrame, mapping: dict[str, str], first_row: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical usable rows, and the rejected ones with their row number (counting from `first_row` + 1) and reason.

    Every cell is read on its own, so a file gives the same rows whether it is read whole or in chunks of any size.
    Args:
        mapping: from resolve_log_mapping.
        first_row: rows of the file before this frame, for a file read in chunks.
    """
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    out["timestamp"], time_reasons = parse_timestamps(frame[mapping["timestamp"]])
    reasons = [f"timestamp not understood (column {mapping['timestamp']!r}): {reason}" if reason else "" for reason in time_reasons]
    messages_column = _normalise_name(mapping["prompt"]) == "messages"
    prompts = []
    for i, value in enumerate(frame[mapping["prompt"]].tolist()):
        try:
            prompt = parse_prompt(value, messages_column)
        except _NotAPrompt as e:
            prompt = None
            reasons[i] = reasons[i] or f"{e} (column {mapping['prompt']!r})"
        if prompt is None:
            reasons[i] = reasons[i] or f"empty prompt (column {mapping['prompt']!r})"
        prompts.append(prompt)
    out["prompt"] = pd.Series(prompts, dtype=object)
    if "model" in mapping:
        out["model"] = _optional_text(frame[mapping["model"]].tolist())
    for canonical in ("input_tokens", "output_tokens", "cost_usd", "latency_ms", "feedback"):
        if canonical in mapping:
            parsed = [_optional_number(v, canonical) for v in frame[mapping[canonical]].tolist()]
            out[canonical] = pd.Series([number for number, _ in parsed], dtype=float)
            for i, (_, reason) in enumerate(parsed):
                if reason and not reasons[i]:
                    reasons[i] = f"{reason} (column {mapping[canonical]!r})"
    for canonical in ("user", "team"):
        if canonical in mapping:
            out[canonical] = _optional_text(frame[mapping[canonical]].tolist())
    reasons = pd.Series(reasons, index=frame.index, dtype=object)
    bad = (reasons != "").to_numpy()
    rejected = frame[bad].copy()
    rejected.insert(0, "reason", reasons[bad])
    rejected.insert(0, "row", rejected.index + 1 + first_row)
    return out[~bad].reset_index(drop=True), rejected.reset_index(drop=True)


_QUOTED = re.compile(r"(column )?'(?:[^'\\]|\\.)*'")  # a quoted column name (kept) or a cell's value (hidden)


def reason_kinds(reasons) -> Counter:
    """Rejection reasons counted by kind: reasons that differ only in the cell value they quote are one kind."""
    return Counter(_QUOTED.sub(lambda m: m[0] if m[1] else "'…'", str(r)) for r in reasons)


def format_reason_counts(kinds: Counter, limit: int = 4) -> str:
    """ "2 × empty prompt (column 'prompt'); 1 × …", most frequent first, the rest summed."""
    ranked = kinds.most_common()
    shown = [f"{n:,} × {kind}" for kind, n in ranked[:limit]]
    if len(ranked) > limit:
        shown.append(f"{sum(n for _, n in ranked[limit:]):,} × {len(ranked) - limit} other reasons")
    return "; ".join(shown)


def summarise_reasons(reasons, limit: int = 4) -> str:
    """Every rejection reason with its count, grouped by kind (reason_kinds), most frequent first."""
    return format_reason_counts(reason_kinds(reasons), limit)


ID_COLUMNS = ("query_id", "request_id", "id")  # a batch's own ids, in order of preference; else the row number


def _id_text(value) -> str | None:
    try:
        return _cell_text(value)
    except UnicodeDecodeError:
        return None  # binary junk is no id: the row is set aside as having none


def prompts_from_frame(frame: pd.DataFrame, source: str, mapping: dict[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The queries of a batch to route: any table score-log reads (plain prompts or OpenAI-style `messages`), no
    timestamp needed.

    Returns:
        (usable: query_id, query; rejected: row, reason, then the row's cells), as parse_log_rows sets rows aside.
    Raises:
        RouterInputError naming the file when no column holds the queries.
    """
    frame = frame.reset_index(drop=True)
    column = (mapping or {}).get("prompt") or match_log_columns(frame.columns).get("prompt")
    if column is None or column not in frame.columns:
        raise RouterInputError(f"{source}: no query column (one of {', '.join(LOG_ALIASES['prompt'])}); found "
                               f"{', '.join(map(str, frame.columns))[:300]}")
    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    ids = [_id_text(v) for v in frame[id_column].tolist()] if id_column else [str(i + 1) for i in range(len(frame))]
    messages_column = _normalise_name(column) == "messages"
    texts, reasons = [], []
    for i, value in enumerate(frame[column].tolist()):
        try:
            text, reason = parse_prompt(value, messages_column), ""
        except _NotAPrompt as e:
            text, reason = None, f"{e} (column {column!r})"
        if text is None and not reason:
            reason = f"empty query (column {column!r})"
        if not reason and ids[i] is None:
            reason = f"empty id (column {id_column!r})"
        texts.append(text)
        reasons.append(reason)
    reasons = pd.Series(reasons, dtype=object)
    bad = (reasons != "").to_numpy()
    rejected = frame[bad].copy()
    rejected.insert(0, "reason", reasons[bad])
    rejected.insert(0, "row", rejected.index + 1)
    usable = pd.DataFrame({"query_id": np.array(ids, dtype=object)[~bad], "query": np.array(texts, dtype=object)[~bad]})
    return usable, rejected.reset_index(drop=True)


def request_log_from_frame(frame: pd.DataFrame, mapping: dict[str, str] | None = None, source: str = "request log") -> RequestLog:
    """Match columns, parse timestamps and prompts, and set aside (never silently drop) unusable rows.

    Args:
        mapping: canonical field -> column, overriding the automatic alias match (e.g. from a manual form).
    """
    mapping = resolve_log_mapping(frame.columns, mapping, source)
    usable, rejected = parse_log_rows(frame, mapping)
    if usable.empty:
        first = rejected["reason"].iloc[0] if len(rejected) else "no rows"
        raise RouterInputError(f"{source}: no usable request; every row was rejected (first reason: {first})")
    return RequestLog(usable, rejected, mapping, source)


def load_request_log(source, mapping: dict[str, str] | None = None, name: str | None = None) -> RequestLog:
    """Read a request log file (CSV, JSONL or Parquet), matching columns by alias (DESIGN.md §4)."""
    label = name or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "upload"))
    return request_log_from_frame(read_table(source, name), mapping, source=label)


def count_rows(source) -> int:
    """Rows in a table file without parsing it: exact for Parquet, newlines for CSV/JSONL (an estimate, for progress)."""
    path = _existing_file(source)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq  # Parquet files only: CSV and JSONL readers do not need it

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception as e:  # pyarrow raises several types for a non-Parquet file
            raise RouterInputError(f"{path}: not a readable Parquet file ({type(e).__name__}: {e})") from e
    lines = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
    return max(lines - (path.suffix.lower() == ".csv"), 0)


def _jsonl_chunks(path: Path, chunk_rows: int):
    name, records = str(path), []
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            records.extend(_json_records([line], name, number))
            if len(records) >= chunk_rows:
                yield pd.DataFrame(records, dtype=object)
                records = []
    if records:
        yield pd.DataFrame(records, dtype=object)


def _table_chunks(path: Path, chunk_rows: int):
    """DataFrames of up to `chunk_rows` rows each, read lazily, so a log of any size fits in bounded memory."""
    name, suffix = str(path), path.suffix.lower()
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise RouterInputError(f"chunk_rows must be a whole number >= 1, got {chunk_rows!r}")
    if suffix not in TABLE_SUFFIXES:
        raise RouterInputError(f"{name}: unknown file type {suffix or '(none)'}; expected one of {', '.join(TABLE_SUFFIXES)}")
    if path.stat().st_size == 0:
        raise RouterInputError(f"{name}: the file is empty")
    if suffix == ".parquet":
        import pyarrow.parquet as pq  # Parquet files only: CSV and JSONL readers do not need it

        try:
            file = pq.ParquetFile(path)
            _check_columns(pd.DataFrame(columns=file.schema_arrow.names), name)
            for batch in file.iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
        except RouterInputError:
            raise
        except Exception as e:  # pyarrow raises several types for a non-Parquet file
            raise RouterInputError(f"{name}: not a readable Parquet file ({type(e).__name__}: {e})") from e
        return
    if suffix == ".json":  # one JSON array: not streamable, so the size limit of read_table applies
        frame = read_table(path)
        for start in range(0, len(frame), chunk_rows):
            yield frame.iloc[start:start + chunk_rows]
        return
    with path.open("rb") as f:
        _check_not_binary(f.read(65536), name, suffix)
    if suffix == ".jsonl":
        yield from _jsonl_chunks(path, chunk_rows)
        return
    rows_read = 0
    try:
        with pd.read_csv(path, chunksize=chunk_rows, encoding="utf-8-sig", dtype=object, **CSV_OPTIONS) as reader:
            for frame in reader:
                rows_read += len(frame)
                yield frame
    except UnicodeDecodeError as e:
        raise _not_utf8(name, f"{e.reason} after row {rows_read}") from e
    except (ValueError, pd.errors.ParserError) as e:
        raise RouterInputError(f"{name}: could not parse as CSV ({str(e).strip().splitlines()[0]})") from e


def iter_request_log(source, mapping: dict[str, str] | None = None, chunk_rows: int = 20_000):
    """Read a request log of any size in chunks; yields a RequestLog per chunk (it may have no usable row).

    Columns are matched once, on the first chunk, with the same aliases and messages as load_request_log;
    rejected rows carry their row number in the whole file.
    """
    path = _existing_file(source)
    resolved, first_row = None, 0
    for frame in _table_chunks(path, chunk_rows):
        if resolved is None:
            resolved = resolve_log_mapping(frame.columns, mapping, str(path))
        absent = sorted(set(resolved.values()) - set(frame.columns))
        frame = frame.assign(**{column: None for column in absent})  # JSONL lines need not all carry every key
        usable, rejected = parse_log_rows(frame, resolved, first_row)
        first_row += len(frame)
        yield RequestLog(usable, rejected, resolved, str(path), list(frame.columns))


def log_mapping(source, mapping: dict[str, str] | None = None, chunk_rows: int = 20_000) -> dict[str, str] | None:
    """The column mapping iter_request_log uses for `source` (resolved on its first chunk), without parsing a row.

    None for a file with no rows at all (a header only)."""
    path = _existing_file(source)
    for frame in _table_chunks(path, chunk_rows):
        return resolve_log_mapping(frame.columns, mapping, str(path))
    return None
