"""Composing one query: a category's template, its slot values, 0–3 modifiers and the way people actually type."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from router_core.demo import documents as doc
from router_core.demo import puzzles
from router_core.demo.banks import (
    CategoryBank,
    Modifier,
    SlotFiller,
    Template,
    load_words,
    pick,
    resolve_alternatives,
)
from router_core.demo.model import (
    CATEGORIES,
    CATEGORY_SHARE,
    DIFFICULTY_SCALE,
    LENGTH_DIFFICULTY,
    MODIFIER_COUNT_P,
)

# Share of each category's requests typed casually (lower case, no full stop, "pls", a typo).
INFORMAL_RATE = {
    "coding": 0.25, "maths": 0.2, "reasoning": 0.2, "extraction": 0.2, "summarisation": 0.25,
    "writing": 0.25, "roleplay": 0.4, "chit-chat": 0.7, "stem-knowledge": 0.25, "translation": 0.25,
}
GREETING_RATE, SIGN_OFF_RATE, TYPO_RATE = 0.15, 0.1, 0.12


def integer_text(low: int, high: int, scale: int = 1):
    """A slot whose value is a whole number in [low, high) times scale, written out."""
    return lambda rng: str(int(rng.integers(low, high)) * scale)


# Slots whose values are made in Python (numbers, equations, puzzles, pasted documents), per category.
GENERATED_SLOTS = {
    "coding": {"code": doc.code_snippet, "bug_report": doc.bug_report},
    "maths": {
        "big_int": integer_text(12, 999), "amount": integer_text(20, 5000),
        "lin_eq": puzzles.linear_equation, "quad_eq": puzzles.quadratic_equation, "eq_system": puzzles.equation_system,
        "matrix": puzzles.matrix, "price": lambda rng: doc.money(rng, 8, 900),
        "principal": lambda rng: doc.money(rng, 500, 50000, "$"), "years": integer_text(2, 31),
        "conversion": puzzles.unit_conversion, "dist": integer_text(12, 90, scale=10), "speed": integer_text(6, 30, scale=5),
        "data_list": lambda rng: ", ".join(str(int(v)) for v in rng.integers(1, 60, size=int(rng.integers(5, 12)))),
    },
    "reasoning": {
        "ordering_puzzle": puzzles.ordering_puzzle, "syllogism": puzzles.syllogism, "knights_puzzle": puzzles.knights_puzzle,
        "objects_story": puzzles.objects_story, "jug_puzzle": puzzles.jug_puzzle, "sequence": puzzles.number_sequence,
        "family_puzzle": puzzles.family_puzzle, "schedule_puzzle": puzzles.schedule_puzzle,
        "clock_time": puzzles.clock_time, "machines": integer_text(3, 10),
    },
    "extraction": {
        "invoice_email": doc.invoice_email, "news": doc.news_paragraph, "job_posting": doc.job_posting,
        "shipping": doc.shipping_notice, "meeting_notes": doc.meeting_notes, "log_lines": doc.log_lines,
        "contract": doc.contract_clause, "product_listing": doc.product_listing, "cv": doc.cv_text,
        "contacts": doc.contact_blob, "ticket": doc.support_ticket, "prescription": doc.prescription_note,
        "invite": doc.event_invite, "reviews": doc.reviews,
    },
    "summarisation": {
        "article": doc.article, "email_thread": doc.email_thread, "transcript": doc.transcript, "reviews": doc.reviews,
        "incident": doc.incident_report, "abstract": doc.abstract, "chat": doc.chat_log, "op_ed": doc.op_ed,
        "policy": doc.policy_text, "proposal": doc.proposal, "meeting_notes": doc.meeting_notes,
    },
    "writing": {"paragraph": doc.paragraph_to_rewrite},
    "translation": {
        "english": doc.english_text, "email_body": doc.email_body, "foreign": doc.foreign_request,
        "product_listing": doc.product_listing, "ui_strings": doc.ui_strings, "contract": doc.contract_clause,
        "medical_note": doc.medical_note, "word_list": doc.word_list, "tech_paragraph": doc.tech_paragraph,
    },
}


@functools.cache
def category_banks() -> dict[str, CategoryBank]:
    """Every category's templates, modifiers and slots, in CATEGORIES order."""
    return {c: CategoryBank.load(c, GENERATED_SLOTS.get(c, {}), INFORMAL_RATE[c]) for c in CATEGORIES}


@functools.cache
def shared_slots() -> dict:
    """Slots every category can use: people, companies, places, dates, money, products, languages."""
    return {
        "first": doc.shared("first_names"), "person": doc.person, "company": doc.shared("companies"),
        "city": doc.shared("cities"), "weekday": doc.shared("weekdays"), "date": doc.date_text, "money": doc.money,
        "product": doc.shared("products"), "job": doc.shared("job_titles"),
        "lang": doc.shared("programming_languages"), "tongue": doc.shared("human_languages"),
    }


@dataclass(frozen=True)
class Query:
    """One generated request and where its difficulty came from (bank units; `difficulty` is on the logit scale)."""

    text: str
    category: str
    template_difficulty: float
    slot_difficulty: float
    modifier_difficulty: float  # the modifiers' own difficulty plus any slot they brought in
    length_difficulty: float
    n_modifiers: int
    length_factor: float        # multiplier on the category's typical answer length

    @property
    def difficulty(self) -> float:
        written = self.template_difficulty + self.slot_difficulty + self.modifier_difficulty
        return DIFFICULTY_SCALE * written + self.length_difficulty


def choose_modifiers(rng, bank: CategoryBank, template: Template) -> list[Modifier]:
    """0–3 modifiers that suit the template, at most one per group."""
    count = int(rng.choice(len(MODIFIER_COUNT_P), p=MODIFIER_COUNT_P))
    allowed = [m for m in bank.modifiers if template.modifiers is None or m.group in template.modifiers]
    chosen, groups = [], set()
    for i in rng.permutation(len(allowed)):
        if len(chosen) == count:
            break
        if allowed[int(i)].group not in groups:
            chosen.append(allowed[int(i)])
            groups.add(allowed[int(i)].group)
    return chosen


def add_typo(rng, line: str) -> str:
    """Swap two neighbouring letters in one longer word, as fast typists do."""
    words = line.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return line
    i = pick(rng, candidates)
    w = words[i]
    k = int(rng.integers(1, len(w) - 2))
    words[i] = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    return " ".join(words)


def style_request(rng, line: str, informal_rate: float) -> str:
    """The request line as someone might type it: greeting, lower case, 'pls', no full stop, a typo."""
    style = load_words("style")
    if rng.random() < GREETING_RATE:
        greeting = pick(rng, style["greetings"])
        line = greeting + (line[:1].lower() + line[1:] if greeting.endswith(", ") else line)
    if rng.random() < informal_rate:
        has_code = "`" in line or "{" in line
        line = line.lower() if (rng.random() < 0.6 and not has_code) else line[:1].lower() + line[1:]
        if rng.random() < 0.4:
            line = " ".join(style["casual_words"].get(w, w) for w in line.split(" "))
        if line.endswith(".") and rng.random() < 0.7:
            line = line[:-1]
    if rng.random() < TYPO_RATE:
        line = add_typo(rng, line)
    if rng.random() < SIGN_OFF_RATE and not line.endswith(":"):
        sign_off = pick(rng, style["sign_offs"])
        line += sign_off if line[-1:] in ".?!" else sign_off.lower().rstrip(".!")
    return line


def attach_modifiers(rng, body: str, modifier_texts: list[str]) -> tuple[str, str]:
    """Put the modifier sentences after the request line (or after the pasted text). Returns (request line, rest)."""
    head, newline, rest = body.partition("\n")
    if not modifier_texts:
        return head, newline + rest
    extra = " ".join(modifier_texts)
    if rest and (head.endswith(":") or rng.random() < 0.3):
        return head, newline + rest + "\n\n" + extra  # instructions after the paste, as people often write them
    joiner = " " if head[-1:] in ".?!" else ". "
    return head + joiner + extra, newline + rest


def compose_query(rng, category: str) -> Query:
    bank = category_banks()[category]
    template = pick(rng, bank.templates)
    filler = SlotFiller(rng, {**shared_slots(), **bank.slots})
    body = filler.fill(resolve_alternatives(rng, template.text))
    slot_difficulty, slot_length = filler.difficulty, filler.length

    modifiers = choose_modifiers(rng, bank, template)
    modifier_texts = [filler.fill(pick(rng, m.phrasings)) for m in modifiers]
    # slots that only a modifier brought in ("Answer in {tongue}") count towards the modifier
    modifier_difficulty = sum(m.difficulty for m in modifiers) + filler.difficulty - slot_difficulty
    modifier_length = math.prod(m.length for m in modifiers) * filler.length / slot_length

    head, rest = attach_modifiers(rng, body, modifier_texts)
    text = style_request(rng, head, bank.informal_rate) + rest
    return Query(text=text, category=category, template_difficulty=template.difficulty, slot_difficulty=slot_difficulty,
                 modifier_difficulty=modifier_difficulty, length_difficulty=LENGTH_DIFFICULTY * math.log1p(len(text) / 400),
                 n_modifiers=len(modifiers), length_factor=template.length * slot_length * modifier_length)


def draw_categories(rng, n: int, share: dict[str, float]) -> list[str]:
    p = np.array([share[c] for c in CATEGORIES], dtype=float)
    return [CATEGORIES[int(i)] for i in rng.choice(len(CATEGORIES), size=n, p=p / p.sum())]


def generate_queries(rng, n: int) -> list[Query]:
    return [compose_query(rng, c) for c in draw_categories(rng, n, CATEGORY_SHARE)]
