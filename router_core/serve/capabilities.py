"""What each upstream model can take: its context window, tool calls, images. Read from the deployment's `model_info`
in the model_list (where an operator states it) or else LiteLLM's model map; unknown stays unknown and never keeps a
model off a request."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capability:
    max_input_tokens: int | None = None
    tools: bool | None = None  # function calling
    vision: bool | None = None

    def refuses(self, prompt_tokens: int | None, wants_tools: bool, has_images: bool) -> str | None:
        """Why this model cannot take the request, or None."""
        if self.max_input_tokens is not None and prompt_tokens is not None and prompt_tokens > self.max_input_tokens:
            return f"its context window is {self.max_input_tokens:,} tokens, the prompt {prompt_tokens:,}"
        if wants_tools and self.tools is False:
            return "it does not call tools"
        if has_images and self.vision is False:
            return "it does not read images"
        return None


def _known(info: dict) -> Capability:
    def flag(key):
        value = info.get(key)
        return value if isinstance(value, bool) else None

    window = info.get("max_input_tokens")
    window = int(window) if isinstance(window, (int, float)) and not isinstance(window, bool) and window > 0 else None
    return Capability(window, flag("supports_function_calling"), flag("supports_vision"))


def litellm_info(model: str) -> dict:
    """LiteLLM's map entry for a provider model id, or {} when it has none."""
    import litellm

    litellm.suppress_debug_info = True
    try:
        return dict(litellm.get_model_info(model))
    except Exception:  # noqa: BLE001 - LiteLLM raises plain Exception for a model it does not map
        return {}


def capabilities(model_list, catalog=None) -> dict[str, Capability]:
    """Per router model: the first deployment's stated `model_info`, filled in from LiteLLM's map of its model id."""
    provider = {c.name: c.provider_model_id for c in catalog.candidates} if catalog is not None else {}
    found: dict[str, Capability] = {}
    for entry in model_list:
        name = entry["model_name"]
        if name in found:
            continue
        stated = entry.get("model_info") or {}
        model = (entry.get("litellm_params") or {}).get("model") or provider.get(name, name)
        known = litellm_info(model) or (litellm_info(provider[name]) if name in provider else {})
        found[name] = _known({**known, **{k: v for k, v in stated.items() if v is not None}})
    return found
