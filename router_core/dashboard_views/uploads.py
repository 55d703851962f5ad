"""The dashboard's memory budget for uploads: a file is parsed at several times its size, so big ones are refused early."""
from __future__ import annotations

import math
import os

from router_core.errors import RouterInputError

UPLOAD_LIMIT_ENV = "CROSSROUTE_UPLOAD_MB"
DEFAULT_UPLOAD_LIMIT_MB = 100.0  # parsing takes about ten times the file's size, per session
LOG_HINT = ("a big request log streams through `python -m router_core score-log --log FILE --out scored.parquet` in "
            "bounded memory; open that Parquet file here instead")
LABELLED_HINT = "train or evaluate on a big labelled set with `python -m router_core train` / `evaluate`"


def upload_limit_mb() -> float:
    """$CROSSROUTE_UPLOAD_MB (a positive number of megabytes), else 100."""
    text = os.environ.get(UPLOAD_LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_UPLOAD_LIMIT_MB
    try:
        limit = float(text)
    except ValueError:
        limit = math.nan
    if not (math.isfinite(limit) and limit > 0):
        raise RouterInputError(f"${UPLOAD_LIMIT_ENV} is {text!r}: expected a positive number of megabytes (default "
                               f"{DEFAULT_UPLOAD_LIMIT_MB:g})")
    return limit


def check_upload_size(name: str, n_bytes: int, limit_mb: float | None = None, hint: str = LOG_HINT) -> None:
    """Refuse an upload over the budget before it is parsed, saying its size, the limit and where big files go."""
    limit = upload_limit_mb() if limit_mb is None else limit_mb
    if n_bytes > limit * 1e6:
        raise RouterInputError(f"{name}: {n_bytes / 1e6:,.1f} MB is over the dashboard's {limit:g} MB upload limit "
                               f"(a file takes about ten times its size in memory while it is read; ${UPLOAD_LIMIT_ENV} "
                               f"sets the limit); {hint}")
