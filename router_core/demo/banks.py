"""The text banks (router_core/demo/word_banks/*.yaml) and the two ways their templates get filled.

A request template's {slot} draws from a pool once and reads the same if repeated (`SlotFiller`); a document
template's {field} calls the generator's drawer for it (`fill_fields`). Both draw in the order the fields appear,
so a bank's word order is part of the seed's output.
"""
from __future__ import annotations

import functools
import math
import re
import string
from dataclasses import dataclass
from importlib import resources
from typing import Sequence

import numpy as np
import yaml


@functools.cache
def load_words(name: str) -> dict:
    """demo/word_banks/<name>.yaml, read once per process, with every list made a tuple (pools are never edited)."""
    text = (resources.files("router_core.demo") / "word_banks" / f"{name}.yaml").read_text(encoding="utf-8")
    return as_tuples(yaml.safe_load(text))


def as_tuples(node):
    """YAML lists as tuples, so a weighted value reads as (text, difficulty[, length]) as SlotValue expects."""
    if isinstance(node, list):
        return tuple(as_tuples(v) for v in node)
    if isinstance(node, dict):
        return {key: as_tuples(value) for key, value in node.items()}
    return node


def pick(rng: np.random.Generator, seq: Sequence):
    return seq[int(rng.integers(len(seq)))]


def pick_k(rng: np.random.Generator, seq: Sequence, k: int) -> list:
    return [seq[int(i)] for i in rng.choice(len(seq), size=k, replace=False)]


@dataclass(frozen=True)
class SlotValue:
    """One filled slot: its words, how much harder it makes the query, how much longer it makes the answer."""

    text: str
    difficulty: float = 0.0
    length: float = 1.0


@dataclass(frozen=True)
class Template:
    """A request with {slot} fields and [one|other] wordings (drawn at random, same meaning, same difficulty).

    `modifiers` lists the modifier groups that make sense with it (None: all of the category's).
    """

    text: str
    difficulty: float
    length: float = 1.0
    modifiers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Modifier:
    """Words appended to a request that change how hard it is and how long the answer gets.

    A query takes at most one modifier per group (so never both "in one sentence" and "in detail").
    """

    group: str
    difficulty: float
    length: float
    phrasings: tuple[str, ...]


@dataclass(frozen=True)
class CategoryBank:
    templates: tuple[Template, ...]
    modifiers: tuple[Modifier, ...]
    slots: dict  # pool name -> listed values (str, (text, difficulty) or (text, difficulty, length)) or a function of rng
    informal_rate: float  # share of requests typed casually (lower case, no full stop, "pls", a typo)

    @classmethod
    def load(cls, category: str, generated_slots: dict, informal_rate: float) -> CategoryBank:
        """The category's YAML bank, plus the slots whose values are generated in Python (code, equations, pastes)."""
        words = load_words(category)
        return cls(templates=tuple(Template(**t) for t in words["templates"]),
                   modifiers=tuple(Modifier(**m) for m in words["modifiers"]),
                   slots={**words["slots"], **generated_slots}, informal_rate=informal_rate)


def as_slot_value(value) -> SlotValue:
    if isinstance(value, SlotValue):
        return value
    if isinstance(value, tuple):
        return SlotValue(*value)
    return SlotValue(str(value))


class SlotFiller:
    """Fills the {slot} fields of one query.

    A slot repeated in one query reads the same both times. `{name2}` draws again from the pool `name` and
    avoids the values already drawn from it (two different people, two different languages).
    """

    def __init__(self, rng: np.random.Generator, pools: dict):
        self.rng = rng
        self.pools = pools
        self.values: dict[str, SlotValue] = {}  # insertion-ordered, so sums and draws are deterministic

    def fill(self, text: str) -> str:
        for _, name, _, _ in string.Formatter().parse(text):
            if name and name not in self.values:
                self.values[name] = self._draw(name)
        return text.format_map({name: value.text for name, value in self.values.items()})

    @property
    def difficulty(self) -> float:
        return sum(v.difficulty for v in self.values.values())

    @property
    def length(self) -> float:
        return math.prod(v.length for v in self.values.values())

    def _draw(self, name: str) -> SlotValue:
        pool_name = name.rstrip("0123456789")
        pool = self.pools[pool_name]
        taken = {v.text for k, v in self.values.items() if k.rstrip("0123456789") == pool_name}
        value = None
        for _ in range(10):
            value = as_slot_value(pool(self.rng) if callable(pool) else pick(self.rng, pool))
            if value.text not in taken:
                break
        if not callable(pool) and "{" in value.text:
            # a listed value may hold slots of its own ("the best hikes near {city}"); generated values (code,
            # pasted documents) never do, and may contain literal braces
            value = SlotValue(self.fill(value.text), value.difficulty, value.length)
        return value


def fill_fields(template: str, **fields) -> str:
    """Fill a document template. A callable field is drawn when the template first reaches it, left to right (as in
    an f-string), and reads the same if repeated; any other field is used as it is."""
    values = {}
    for _, name, _, _ in string.Formatter().parse(template):
        if name and name not in values:
            field = fields[name]
            values[name] = field() if callable(field) else field
    return template.format_map(values)


ALTERNATIVES = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")


def resolve_alternatives(rng, text: str) -> str:
    """`[Write|Can you write|I need]` in a template: one wording, drawn at random (same meaning, same difficulty)."""
    return ALTERNATIVES.sub(lambda match: pick(rng, match.group(1).split("|")), text)
