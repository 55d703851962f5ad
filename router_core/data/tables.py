"""Reading tables users hand over (CSV, JSONL, JSON, Parquet) with one clear error per problem."""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.errors import RouterInputError

CSV_OPTIONS = {"keep_default_na": False, "na_values": [""]}  # "NA" or "null" is text (a query, an id), not a missing cell


TABLE_SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")


def row_label(i: int) -> str:
    """Rows as a spreadsheet shows them: data row i (0-based) is line i + 2 after the header."""
    return f"row {i + 1} (line {i + 2})"


def existing_file(source) -> Path:
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


def not_utf8(name: str, where: str) -> RouterInputError:
    return RouterInputError(f"{name}: not UTF-8 text ({where}); save the file as UTF-8 and upload again")


def _json_records(lines, name: str, first_line: int = 1) -> list[dict]:
    """JSONL lines as records; a line that is not a JSON object is an error naming it."""
    records = []
    for number, line in enumerate(lines, start=first_line):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise not_utf8(name, f"line {number}") from e
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


def source_bytes(source, name: str) -> bytes:
    """The bytes of a path or of a binary file-like object (the dashboard checks an upload's size before it gets here)."""
    if isinstance(source, (str, Path)):
        path = existing_file(source)
        try:
            return path.read_bytes()
        except OSError as e:
            raise RouterInputError(f"{name}: cannot be read ({e.strerror or e})") from e
    return source.read()


def read_table(source, name: str | None = None) -> pd.DataFrame:
    """Read a CSV, JSONL/JSON or Parquet table from a path or an uploaded file-like object.

    Args:
        source: a path, or a binary file-like object (then `name` gives its file name and format).
    Raises:
        RouterInputError naming the file, for an unknown format, bad encoding, binary junk, or a parse error.
    """
    if isinstance(source, (str, Path)):
        name = name or Path(source).name
    else:
        name = name or getattr(source, "name", "upload")
    data = source_bytes(source, name)
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
        raise not_utf8(name, f"byte {e.start}, line {line}") from e
    if suffix in (".json", ".jsonl"):
        return _check_columns(_json_table(text, name), name)
    try:
        return _check_columns(pd.read_csv(io.StringIO(text), dtype=object, **CSV_OPTIONS), name)  # cells as written
    except (ValueError, pd.errors.ParserError) as e:
        raise RouterInputError(f"{name}: could not parse as CSV ({str(e).strip().splitlines()[0]})") from e


def count_rows(source) -> int:
    """Rows in a table file without parsing it: exact for Parquet, newlines for CSV/JSONL (an estimate, for progress)."""
    path = existing_file(source)
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


def jsonl_chunks(path: Path, chunk_rows: int):
    name, records = str(path), []
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            records.extend(_json_records([line], name, number))
            if len(records) >= chunk_rows:
                yield pd.DataFrame(records, dtype=object)
                records = []
    if records:
        yield pd.DataFrame(records, dtype=object)


def table_chunks(path: Path, chunk_rows: int):
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
        yield from jsonl_chunks(path, chunk_rows)
        return
    rows_read = 0
    try:
        with pd.read_csv(path, chunksize=chunk_rows, encoding="utf-8-sig", dtype=object, **CSV_OPTIONS) as reader:
            for frame in reader:
                rows_read += len(frame)
                yield frame
    except UnicodeDecodeError as e:
        raise not_utf8(name, f"{e.reason} after row {rows_read}") from e
    except (ValueError, pd.errors.ParserError) as e:
        raise RouterInputError(f"{name}: could not parse as CSV ({str(e).strip().splitlines()[0]})") from e


def cell_text(value) -> str | None:
    """A cell as text, or None when it is empty; bytes must be UTF-8."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8")  # UnicodeDecodeError is reported by the caller, naming the row
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value)
    return text if text.strip() else None
