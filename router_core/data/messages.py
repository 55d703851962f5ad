"""Chat messages and prompt cells: the text a router reads from a request."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from router_core.errors import RouterInputError


class NotAPrompt(ValueError):
    """A prompt cell that cannot be read; its message is the rejection reason."""


def _messages_text(messages) -> str | None:
    if isinstance(messages, dict):
        messages = messages.get("messages", [messages])
    if not isinstance(messages, (list, tuple, np.ndarray)):
        raise NotAPrompt(f"messages must be a list of {{role, content}} objects, got a {type(messages).__name__}")
    for message in reversed(list(messages)):
        if isinstance(message, dict) and message.get("role", "user") == "user":
            content = message.get("content")
            if isinstance(content, (list, tuple, np.ndarray)):  # multi-part content: keep the text parts
                content = " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
            if content is not None and not isinstance(content, str):
                raise NotAPrompt(f"the last user message's content is a {type(content).__name__}, not text")
            return (content or "").strip() or None
    raise NotAPrompt("messages hold no user message")


def last_user_text(messages) -> str:
    """The text of a chat request's last user message (what the router routes on).

    Raises:
        RouterInputError when there is no user message, its content is not text, or it is empty.
    """
    try:
        text = _messages_text(messages)
    except NotAPrompt as e:
        raise RouterInputError(str(e)) from e
    if text is None:
        raise RouterInputError("the last user message is empty")
    return text


def parse_prompt(value, messages_column: bool = False) -> str | None:
    """The query in a prompt cell: plain text, or the last user message of OpenAI-style `messages` JSON; None if empty.

    Args:
        messages_column: the column holds `messages`, so its text must be valid messages JSON.
    Raises:
        NotAPrompt (a ValueError) with the reason, for binary that is not UTF-8 or malformed messages.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as e:
            raise NotAPrompt("binary data that is not UTF-8 text") from e
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
            raise NotAPrompt("messages JSON nested too deeply") from e
        except ValueError as e:
            raise NotAPrompt(f"malformed messages JSON ({e})") from e
    elif not isinstance(value, (dict, list, tuple, np.ndarray)):
        if messages_column:
            raise NotAPrompt(f"messages must be JSON, got a {type(value).__name__}")
        text = str(value).strip()
        return text or None
    return _messages_text(value)


def prompt_text(value) -> str | None:
    """The query in a prompt cell, or None when it is empty or unreadable (parse_prompt gives the reason)."""
    try:
        return parse_prompt(value)
    except NotAPrompt:
        return None
