"""Chat messages and prompt cells: the text a router reads from a request."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

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
            if content and not _valid_text(content):
                raise NotAPrompt("the last user message holds a lone UTF-16 surrogate, which is not valid text")
            return (content or "").strip() or None
    raise NotAPrompt("messages hold no user message")


def _valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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


# What the router reads of a conversation besides its last user turn, at most (the encoder sees about 128 tokens, and
# the last user turn comes first, so a long turn leaves no room for context).
CONTEXT_CHARS = 600
SYSTEM_CHARS, EARLIER_CHARS, TOOLS_CHARS = 200, 250, 150


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _has_image(content) -> bool:
    return isinstance(content, (list, tuple)) and any(isinstance(p, dict) and p.get("type") in ("image_url", "input_image")
                                                      for p in content)


def _clip(text: str, limit: int, tail: bool = False) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return ("…" + text[-(limit - 1):]) if tail else (text[: limit - 1] + "…")


@dataclass(frozen=True)
class Conversation:
    """What routing needs to know about a chat request."""

    last_user: str  # the last user turn's text
    routing_text: str  # what the router reads: the last user turn, then a bounded summary of the context
    turns: int  # user and assistant messages
    tool_names: tuple[str, ...]  # tools (or functions) the request offers
    has_images: bool

    @property
    def single_turn(self) -> bool:
        return self.routing_text == self.last_user


def conversation(messages, tools=None, functions=None) -> Conversation:
    """Read a chat request for routing. The router reads the last user turn first (it decides the answer most), then,
    within CONTEXT_CHARS, the names of the offered tools, the end of the previous user turn and the start of the
    system prompt. A single user message is routed on its own text, exactly as a query in a labelled set.

    Raises:
        RouterInputError as last_user_text does.
    """
    last = last_user_text(messages)
    messages = [m for m in messages if isinstance(m, dict)]
    names = []
    for tool in list(tools or []) + [{"function": f} for f in (functions or [])]:
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            names.append(name)
    users = [i for i, m in enumerate(messages) if m.get("role", "user") == "user"]
    system = " ".join(_text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    earlier = _text_of(messages[users[-2]].get("content")) if len(users) > 1 else ""
    context = []
    if names:
        context.append("Tools: " + _clip(", ".join(names), TOOLS_CHARS))
    if earlier.strip():
        context.append("Before: " + _clip(earlier, EARLIER_CHARS, tail=True))
    if system.strip():
        context.append("System: " + _clip(system, SYSTEM_CHARS))
    summary = _clip(" | ".join(context), CONTEXT_CHARS)
    turns = sum(1 for m in messages if m.get("role", "user") in ("user", "assistant"))
    images = any(_has_image(m.get("content")) for m in messages)
    return Conversation(last, f"{last}\n\n{summary}" if summary else last, turns, tuple(names), images)
