"""Reading the YAML files users write (λ policies, catalogs, model lists) so that a text means one thing: no duplicate
keys (the last would win silently), no anchors or aliases (a few hundred bytes could expand to gigabytes), and numbers
only as people write them in decimal; YAML 1.1's hex, octal, sexagesimal (1:30), `1_000` and yes/no booleans stay text,
so the field that expects a number says so."""
from __future__ import annotations

import re

import yaml

from router_core.errors import RouterInputError

INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
FLOAT = re.compile(r"^[-+]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$")
BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
NULL = re.compile(r"^(~|null|Null|NULL|)$")
MAX_DIGITS = 300  # a number longer than this is not a price, a λ or a count


class StrictLoader(yaml.SafeLoader):
    """SafeLoader with the rules above."""

    yaml_implicit_resolvers: dict = {}

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(None, None, "anchors and aliases (*name) are not allowed here",
                                                    event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise yaml.constructor.ConstructorError(None, None, "anchors (&name) are not allowed here", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be plain text or a number",
                                                        key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {str(key)[:60]!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node):
        text = self.construct_scalar(node)
        if len(text) > MAX_DIGITS:
            raise yaml.constructor.ConstructorError(None, None, f"a number of {len(text)} digits", node.start_mark)
        return int(text)

    def construct_yaml_float(self, node):
        text = self.construct_scalar(node)
        if len(text) > MAX_DIGITS:
            raise yaml.constructor.ConstructorError(None, None, f"a number of {len(text)} characters", node.start_mark)
        return float(text)


StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool", BOOL, list("tTfF"))
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:int", INT, list("-+0123456789"))
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT, list("-+0123456789."))
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:null", NULL, ["~", "n", "N", ""])
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)


def load_yaml(text: str | bytes, source: str):
    """Parse YAML by the rules above. Raises RouterInputError naming `source`, the line and what is wrong."""
    try:
        text = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is SafeLoader with fewer forms
    except UnicodeDecodeError as e:
        raise RouterInputError(f"{source}: not UTF-8 text (byte {e.start})") from e
    except yaml.MarkedYAMLError as e:
        where = f" (line {e.problem_mark.line + 1})" if e.problem_mark is not None else ""
        what = " ".join(str(e.problem or e.context or "").split())[:200]
        raise RouterInputError(f"{source}: not a readable YAML file{where}: {what}") from e
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as e:
        detail = " ".join(str(e).split())[:200]
        raise RouterInputError(f"{source}: not a readable YAML file ({type(e).__name__}: {detail})") from e
