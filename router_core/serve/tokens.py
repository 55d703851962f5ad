"""Counting a whole prompt's tokens (every message and the tool definitions), as the upstream will be billed for it."""
from __future__ import annotations

import json

from router_core.model.text import estimate_tokens


def prompt_tokens(messages: list, tools: list | None = None) -> int:
    """Tokens of the whole prompt, counted once with LiteLLM's default tokenizer (tiktoken's cl100k_base, bundled with
    LiteLLM, so nothing is downloaded); a prompt it cannot count is estimated from its length."""
    import litellm

    try:
        return int(litellm.token_counter(messages=messages, tools=tools or None))
    except Exception:  # noqa: BLE001 - any content the counter does not know: estimate rather than lose the request
        return estimate_tokens(json.dumps(messages, ensure_ascii=False, default=str) + json.dumps(tools or [], default=str))
