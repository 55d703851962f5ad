"""Seeded synthetic routing data: a catalog, a labelled routing set and two weeks of request logs (DESIGN.md §6).

Nothing here comes from a real model, a real user or a real benchmark. Quality labels follow a stated generative
model:

    quality = sigmoid(skill[model, category] − difficulty(query) + query_noise + answer_noise)

where difficulty is read off the words of the query: the template it came from, the slot values put into it (a
red-black tree is harder than binary search, Icelandic harder than Spanish), the modifiers appended to it
("in O(n log n) time", "prove it rigorously", "a 1500-word essay") and a small term for its length. So a text
encoder can learn more than the category, which is the point of the demo.

`generate(out_dir)` writes catalog.csv, labelled.csv, request_log.csv and README.md (every assumption, stated).
The same seed gives byte-identical files: every draw comes from numpy's default_rng, in a fixed order.
"""
from __future__ import annotations

import math
import os
import re
import string
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .catalog import Candidate, Catalog
from .errors import RouterInputError

# ---------------------------------------------------------------------------------------------------------------
# The catalog and the generative model's constants (all of them are repeated in the README this module writes)
# ---------------------------------------------------------------------------------------------------------------

DEFAULT_SEED = 7

# Public list prices (USD per 1M tokens, late 2024). typical_output_tokens prices a request before it is answered.
CATALOG = Catalog((
    Candidate("gpt-4o", "openai/gpt-4o", 2.50, 10.00, 350),
    Candidate("claude-3.5-haiku", "anthropic/claude-3-5-haiku-20241022", 0.80, 4.00, 320),
    Candidate("gpt-4o-mini", "openai/gpt-4o-mini", 0.15, 0.60, 300),
    Candidate("mistral-nemo", "mistral/open-mistral-nemo", 0.15, 0.15, 280),
))
MODELS = tuple(CATALOG.names)

CATEGORIES = ("coding", "maths", "reasoning", "extraction", "summarisation",
              "writing", "roleplay", "chit-chat", "stem-knowledge", "translation")

# Share of each category in the labelled set (roughly what a general-purpose assistant sees).
CATEGORY_SHARE = {
    "coding": 0.14, "maths": 0.09, "reasoning": 0.09, "extraction": 0.10, "summarisation": 0.10,
    "writing": 0.12, "roleplay": 0.07, "chit-chat": 0.10, "stem-knowledge": 0.10, "translation": 0.09,
}

# skill[model, category] on the logit scale, columns in MODELS order. Calibrated qualitatively to MT-Bench's
# per-category scores: small models are close to the big one on writing, roleplay, chit-chat, extraction and
# summarisation, and far behind on maths, reasoning and coding. claude-3.5-haiku is strong at coding and writing.
SKILL = {
    #                  gpt-4o  haiku  mini   nemo
    "coding":         (2.8,   2.7,   1.6,   0.7),
    "maths":          (2.8,   1.9,   1.6,   0.4),
    "reasoning":      (2.6,   1.9,   1.4,   0.5),
    "extraction":     (2.6,   2.4,   2.3,   2.1),
    "summarisation":  (2.6,   2.4,   2.4,   2.2),
    "writing":        (2.5,   2.5,   2.3,   2.1),
    "roleplay":       (2.4,   2.3,   2.2,   2.0),
    "chit-chat":      (2.5,   2.4,   2.4,   2.3),
    "stem-knowledge": (2.8,   2.3,   2.0,   1.4),
    "translation":    (2.6,   2.3,   2.2,   1.8),
}

# The bank below writes difficulties in compact units (about −1.5 for "what's 15% of 300", +1.5 for a proof);
# difficulty(query) = DIFFICULTY_SCALE × (template + slots + modifiers) + length term. The scale spreads queries
# from "every model saturates" (quality ≈ 0.97 for all) to "only the strong model copes", which is what makes the
# easy half cheap to route and the hard half worth paying for.
DIFFICULTY_SCALE = 1.6

QUERY_NOISE_SD = 0.35   # per query, shared by all models: what the text does not reveal about how hard it is
ANSWER_NOISE_SD = 0.5   # per (query, model): the luck of one answer and of the judge; total noise sd ≈ 0.61
LENGTH_DIFFICULTY = 0.25  # difficulty += 0.25 · ln(1 + characters / 400): long inputs are a little harder
MODIFIER_COUNT_P = (0.42, 0.32, 0.18, 0.08)  # chance a query carries 0, 1, 2 or 3 modifiers

# Answer length: category base × template/slot/modifier factors × model verbosity × lognormal noise.
CATEGORY_OUTPUT_TOKENS = {
    "coding": 540, "maths": 380, "reasoning": 330, "extraction": 140, "summarisation": 210,
    "writing": 660, "roleplay": 320, "chit-chat": 100, "stem-knowledge": 400,
    "translation": 0,  # a translation is as long as its source: 1.2 × the prompt's tokens (see expected_output_tokens)
}
TRANSLATION_OUTPUT_RATIO = 1.2
VERBOSITY = {"gpt-4o": 1.0, "claude-3.5-haiku": 0.92, "gpt-4o-mini": 0.87, "mistral-nemo": 0.8}
SHARED_LENGTH_SD = 0.25  # lognormal sd shared by all models' answers to one query (some questions need more words)
ANSWER_LENGTH_SD = 0.3   # lognormal sd per answer
MIN_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS = 3, 4096

SYSTEM_PROMPT_TOKENS = 20  # every call carries a short system prompt
CHARS_PER_TOKEN = 4        # input_tokens = ceil(len(query) / 4) + SYSTEM_PROMPT_TOKENS


def count_input_tokens(text: str) -> int:
    """The usual ~4 characters per token rule, plus the system prompt."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) + SYSTEM_PROMPT_TOKENS


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------------------------------------------
# Building blocks of a query: slot values, templates, modifiers
# ---------------------------------------------------------------------------------------------------------------

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


def T(text: str, difficulty: float, length: float = 1.0, mods: tuple[str, ...] | None = None) -> Template:
    return Template(text, difficulty, length, mods)


def M(group: str, difficulty: float, length: float, *phrasings: str) -> Modifier:
    return Modifier(group, difficulty, length, phrasings)


# A slot pool is a tuple of values (str, or (text, difficulty) or (text, difficulty, length)), or a function of rng
# returning a str or a SlotValue (for numbers, equations and pasted documents).


def pick(rng: np.random.Generator, seq: Sequence):
    return seq[int(rng.integers(len(seq)))]


def pick_k(rng: np.random.Generator, seq: Sequence, k: int) -> list:
    return [seq[int(i)] for i in rng.choice(len(seq), size=k, replace=False)]


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


# ---------------------------------------------------------------------------------------------------------------
# Shared slot values: people, companies, places, dates, money
# ---------------------------------------------------------------------------------------------------------------

FIRST_NAMES = ("Aisha", "Ben", "Carlos", "Dana", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam",
               "Maya", "Nikolai", "Olivia", "Priya", "Quentin", "Rosa", "Sam", "Tomasz", "Uma", "Victor", "Wen",
               "Yusuf", "Zoe", "Anders", "Beatriz", "Chidi", "Ditte", "Emeka", "Fatima", "Gustavo", "Hana", "Ivan",
               "Jia", "Kofi", "Lena", "Mateo", "Nadia", "Omar")
LAST_NAMES = ("Adeyemi", "Becker", "Chen", "Dubois", "Eriksen", "Fernandes", "García", "Hoffmann", "Ivanova",
              "Jensen", "Kowalski", "Lindqvist", "Mensah", "Nakamura", "O'Brien", "Patel", "Quinn", "Rossi",
              "Schmidt", "Tanaka", "Usman", "Varga", "Walsh", "Xu", "Yilmaz", "Zimmermann", "Novak", "Haddad",
              "Moreau", "Okafor")
COMPANIES = ("Northwind Logistics", "Bluefin Analytics", "Acme Robotics", "Lumen Health", "Cedar & Finch",
             "Orbital Foods", "Kestrel Insurance", "Brightpath Learning", "Harbor Freight Partners", "Mosaic Bank",
             "Tallgrass Energy", "Quill Publishing", "Redwood Security", "Sparrow Mobile", "Ironbridge Consulting",
             "Vantage Retail", "Helix Biotech", "Polar Data", "Summit Outdoor", "Greenleaf Grocers")
CITIES = ("Lisbon", "Nairobi", "Toronto", "Manchester", "Osaka", "Bogotá", "Melbourne", "Rotterdam", "Austin",
          "Warsaw", "Lyon", "Seoul", "Cape Town", "Denver", "Dublin", "Mumbai", "Helsinki", "Montreal", "Porto",
          "Glasgow")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
JOB_TITLES = ("head of operations", "senior data engineer", "chief financial officer", "product manager",
              "procurement lead", "VP of sales", "staff software engineer", "customer success manager",
              "marketing director", "research scientist", "general counsel", "UX designer")
PRODUCTS = ("wireless earbuds", "standing desk", "espresso machine", "robot vacuum", "electric kettle",
            "hiking backpack", "smartwatch", "air purifier", "mechanical keyboard", "e-reader", "blender",
            "office chair", "portable speaker", "baby monitor", "running shoes")
# Target languages; rarer ones are harder for every model (difficulty on the logit scale).
HUMAN_LANGUAGES = (("Spanish", 0.0), ("French", 0.0), ("German", 0.1), ("Italian", 0.0), ("Portuguese", 0.05),
                   ("Dutch", 0.15), ("Polish", 0.35), ("Turkish", 0.4), ("Japanese", 0.5),
                   ("Mandarin Chinese", 0.45), ("Korean", 0.55), ("Arabic", 0.55), ("Hindi", 0.45),
                   ("Vietnamese", 0.5), ("Finnish", 0.55), ("Hungarian", 0.6), ("Greek", 0.4), ("Swahili", 0.9),
                   ("Icelandic", 0.95), ("Welsh", 0.85), ("Tagalog", 0.7), ("Yoruba", 1.1))
PROGRAMMING_LANGUAGES = ("Python", "Python", "Python", "JavaScript", "JavaScript", "TypeScript", "Go", ("Rust", 0.3),
                         "Java", ("C++", 0.3), "C#", "Kotlin", "Ruby", ("C", 0.3), "PHP", "Swift", ("Haskell", 0.6))


def person(rng) -> str:
    return f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}"


def email_of(name: str, company: str) -> str:
    first, last = name.lower().replace("'", "").split(" ", 1)
    domain = company.lower().replace(" & ", "").replace(" ", "")[:14]
    return f"{first}.{last}@{domain}.com".replace("í", "i")


def date_text(rng, year: int | None = None) -> str:
    """A date in one of the formats people actually type."""
    year = year or int(rng.integers(2025, 2027))
    month, day = int(rng.integers(1, 13)), int(rng.integers(1, 29))
    style = int(rng.integers(5))
    if style == 0:
        return f"{MONTHS[month - 1]} {day}, {year}"
    if style == 1:
        return f"{day} {MONTHS[month - 1][:3]} {year}"
    if style == 2:
        return f"{year}-{month:02d}-{day:02d}"
    if style == 3:
        return f"{day:02d}/{month:02d}/{year}"
    return f"{MONTHS[month - 1]} {day}"


def money(rng, low: float = 40, high: float = 25000, symbol: str | None = None) -> str:
    symbol = symbol or pick(rng, ("$", "$", "€", "£"))
    return f"{symbol}{float(rng.uniform(low, high)):,.2f}"


def clock(rng, start: int = 8, end: int = 18) -> str:
    return f"{int(rng.integers(start, end)):02d}:{pick(rng, ('00', '15', '30', '45'))}"


SHARED_SLOTS = {
    "first": FIRST_NAMES, "person": person, "company": COMPANIES, "city": CITIES, "weekday": WEEKDAYS,
    "date": date_text, "money": money, "product": PRODUCTS, "job": JOB_TITLES,
    "lang": PROGRAMMING_LANGUAGES, "tongue": HUMAN_LANGUAGES,
}


# ---------------------------------------------------------------------------------------------------------------
# Pasted documents (for summarisation, extraction, translation): invented, built from sentence pools
# ---------------------------------------------------------------------------------------------------------------

INVOICE_ITEMS = ("consulting services", "the March licence renewal", "catering on site", "freight handling",
                 "the website redesign", "equipment rental")


def invoice_email(rng) -> str:
    sender, company = person(rng), pick(rng, COMPANIES)
    lines = [f"Hi {pick(rng, FIRST_NAMES)},", "",
             f"Please find attached invoice #{int(rng.integers(10000, 99999))} for {pick(rng, INVOICE_ITEMS)} "
             f"delivered on {date_text(rng)}. The total due is {money(rng, 300, 40000, '$')} "
             f"(including VAT of {money(rng, 50, 4000, '$')}), payable by {date_text(rng)}."]
    if rng.random() < 0.5:
        lines.append(f"A late fee of {money(rng, 20, 300, '$')} applies to payments received after {date_text(rng)}.")
    if rng.random() < 0.4:
        lines.append(f"Note that the previous invoice #{int(rng.integers(10000, 99999))} "
                     f"({money(rng, 100, 9000, '$')}) is still outstanding.")
    lines += ["", "Best regards,", sender, company]
    return "\n".join(lines)


MEETING_TEAMS = ("Platform", "Growth", "Finance", "Support", "Data", "Design")
MEETING_TASKS = ("update the onboarding docs", "ship the billing fix", "draft the Q3 roadmap", "review the vendor contract",
                 "migrate the reporting jobs to the new cluster", "prepare the customer demo", "run the load test",
                 "collect feedback from the pilot users", "clean up the staging environment",
                 "send the budget proposal to finance", "book the offsite venue", "write the incident postmortem")
MEETING_THINGS = ("the SSO integration", "the invoice discrepancy", "the API rate limits", "the new pricing page",
                  "the SOC 2 audit", "the GPU quota", "the churn dashboard", "the mobile release", "hiring for the data team")
MEETING_DECISIONS = ("we go with {company} for the data warehouse", "release moves to {date}",
                     "feature freeze until the audit is done", "the pilot is extended by two weeks",
                     "we drop the legacy export format")


def meeting_notes(rng) -> str:
    names = pick_k(rng, FIRST_NAMES, int(rng.integers(3, 7)))
    lines = [f"{pick(rng, MEETING_TEAMS)} weekly sync – {date_text(rng)}", f"Attendees: {', '.join(names)}"]
    for _ in range(int(rng.integers(3, 10))):
        kind = int(rng.integers(6))
        who, who2 = pick(rng, names), pick(rng, names)
        if kind == 0:
            lines.append(f"- {who} will {pick(rng, MEETING_TASKS)} by {pick(rng, WEEKDAYS)}.")
        elif kind == 1:
            decision = pick(rng, MEETING_DECISIONS).format(company=pick(rng, COMPANIES), date=date_text(rng))
            lines.append(f"- Decision: {decision}.")
        elif kind == 2:
            lines.append(f"- {who} to follow up with {pick(rng, COMPANIES)} about {pick(rng, MEETING_THINGS)}.")
        elif kind == 3:
            lines.append(f"- Blocked: {pick(rng, MEETING_THINGS)} is waiting on {who}.")
        elif kind == 4:
            lines.append(f"- Discussed {pick(rng, MEETING_THINGS)}; no decision yet, revisit next week.")
        else:
            lines.append(f"- Action: {who} and {who2} to {pick(rng, MEETING_TASKS)} before {date_text(rng)}.")
    return "\n".join(lines)


def news_paragraph(rng) -> str:
    pool = (
        lambda: (f"{pick(rng, COMPANIES)} has appointed {person(rng)} as its new {pick(rng, JOB_TITLES)}, "
                 f"replacing {person(rng)}, who left in {pick(rng, MONTHS)}."),
        lambda: f"\"We are excited about the next chapter,\" said {person(rng)}, {pick(rng, JOB_TITLES)} at {pick(rng, COMPANIES)}.",
        lambda: f"The company, based in {pick(rng, CITIES)}, reported revenue of {money(rng, 2, 900, '$')} million for the quarter.",
        lambda: f"{person(rng)} of {pick(rng, COMPANIES)} will join the board on {date_text(rng)}.",
        lambda: f"Analysts at {pick(rng, COMPANIES)} expect the deal to close by {date_text(rng)}.",
        lambda: (f"Earlier this year {pick(rng, COMPANIES)} opened an office in {pick(rng, CITIES)}, "
                 f"hiring {int(rng.integers(20, 400))} staff."),
        lambda: f"{person(rng)}, a former {pick(rng, JOB_TITLES)} at {pick(rng, COMPANIES)}, called the move \"overdue\".",
        lambda: f"Shares rose {float(rng.uniform(0.5, 12)):.1f}% after the announcement on {date_text(rng)}.",
    )
    return " ".join(pool[int(i)]() for i in rng.choice(len(pool), size=int(rng.integers(3, 7)), replace=False))


JOB_DUTIES = ("own our data pipelines", "lead a team of five", "work closely with customers", "shape the product roadmap",
              "manage supplier relationships")
JOB_MUST_HAVES = ("strong SQL", "fluent German", "a CPA licence", "experience with Kubernetes", "a background in B2B sales")
JOB_ALSO = ("good communication skills", "a driving licence", "experience in a regulated industry", "familiarity with Python")
JOB_PERKS = ("equity", "a 10% bonus", "a pension contribution", "relocation support")


def job_posting(rng) -> str:
    low = int(rng.integers(45, 140)) * 1000
    high = low + int(rng.integers(10, 60)) * 1000
    lines = [f"{pick(rng, COMPANIES)} is hiring a {pick(rng, JOB_TITLES).title()} "
             f"({pick(rng, ('remote', 'hybrid', 'on-site'))}, {pick(rng, CITIES)}).",
             f"You will {pick(rng, JOB_DUTIES)} and report to the {pick(rng, JOB_TITLES)}.",
             f"Requirements: {int(rng.integers(2, 10))}+ years of experience, {pick(rng, JOB_MUST_HAVES)} and {pick(rng, JOB_ALSO)}.",
             f"Salary: ${low:,}–${high:,} plus {pick(rng, JOB_PERKS)}.",
             f"Apply by {date_text(rng)}."]
    if rng.random() < 0.5:
        lines.insert(2, f"Nice to have: {pick(rng, ('startup experience', 'a master’s degree', 'public speaking', 'Spanish'))}.")
    return "\n".join(lines)


def shipping_notice(rng) -> str:
    return (f"Your order #{pick(rng, ('A', 'B', 'W', 'X'))}{int(rng.integers(100000, 999999))} has shipped! "
            f"Carrier: {pick(rng, ('DHL', 'UPS', 'FedEx', 'Royal Mail', 'PostNL'))}, tracking number "
            f"{int(rng.integers(10**9, 10**10 - 1))}{pick(rng, ('GB', 'NL', 'US', 'DE'))}. "
            f"Items: {int(rng.integers(1, 4))}x {pick(rng, PRODUCTS)}. Estimated delivery: {date_text(rng)}. "
            f"Questions? Reply to this email or call "
            f"{pick(rng, ('+44 20 7946 0', '+1 415 555 0', '+31 20 555 0'))}{int(rng.integers(100, 999))}.")


def log_lines(rng) -> str:
    lines = []
    for _ in range(int(rng.integers(6, 18))):
        level = pick(rng, ("INFO", "INFO", "INFO", "WARN", "ERROR"))
        status = {"INFO": 200, "WARN": 429, "ERROR": int(pick(rng, (500, 502, 503, 504)))}[level]
        path = pick(rng, ("/api/orders", "/api/users", "/login", "/api/search", "/health"))
        lines.append(f"2026-03-{int(rng.integers(1, 29)):02d} {clock(rng, 0, 24)}:{int(rng.integers(60)):02d} {level} "
                     f"10.0.{int(rng.integers(0, 8))}.{int(rng.integers(2, 60))} "
                     f"{pick(rng, ('GET', 'GET', 'POST', 'PUT'))} {path} {status} {int(rng.integers(3, 2400))}ms")
    return "```\n" + "\n".join(lines) + "\n```"


def contract_clause(rng) -> str:
    return (f"{int(rng.integers(3, 15))}.{int(rng.integers(1, 9))} Termination. Either party may terminate this Agreement "
            f"for convenience by giving the other party not less than {pick(rng, ('thirty (30)', 'sixty (60)', 'ninety (90)'))} "
            f"days' written notice. {pick(rng, ('The Supplier', 'The Contractor', 'The Licensor'))} may terminate immediately "
            f"if the Customer fails to pay any undisputed amount within {pick(rng, ('fifteen (15)', 'thirty (30)'))} days of "
            f"its due date, provided that such termination shall not relieve the Customer of its obligation to pay fees "
            f"accrued prior to the effective date of termination. Sections {int(rng.integers(5, 12))} (Confidentiality) and "
            f"{int(rng.integers(12, 20))} (Limitation of Liability) shall survive any termination or expiry of this Agreement.")


PRODUCT_FEATURES = ("USB-C charging", "Bluetooth 5.3", "Wi-Fi and app control", "dishwasher-safe parts")
COLOURS = ("black", "white", "sage green", "navy", "coral", "graphite")


def product_listing(rng) -> str:
    product = pick(rng, PRODUCTS)
    return (f"{pick(rng, ('Aurora', 'Nimbus', 'Vega', 'Kite', 'Pulse', 'Orca'))} {product.title()} "
            f"{pick(rng, ('Pro', 'X2', 'Lite', 'Max', '2026 Edition'))} – now {money(rng, 19, 900)} "
            f"(was {money(rng, 30, 1200)}). {pick(rng, ('Battery life up to', 'Runs for'))} {int(rng.integers(4, 60))} hours, "
            f"weighs {int(rng.integers(90, 9000))} g, {pick(rng, PRODUCT_FEATURES)}, "
            f"available in {', '.join(pick_k(rng, COLOURS, 3))}. "
            f"{int(rng.integers(1, 5))}-year warranty. Free shipping on orders over {money(rng, 25, 100)}.")


DEGREES = ("BSc Computer Science", "MA Economics", "BEng Mechanical Engineering", "MBA", "BA History")
UNIVERSITIES = ("University of Leeds", "TU Delft", "McGill University", "University of Nairobi", "Universidad de los Andes")
SKILLS = ("SQL", "negotiation", "Python", "Excel", "team leadership", "Spanish", "Tableau", "budgeting")


def cv_text(rng) -> str:
    name = person(rng)
    starts = sorted(int(y) for y in rng.integers(2008, 2022, size=int(rng.integers(2, 5))))
    jobs = [f"{y}–{y + int(rng.integers(1, 5))}: {pick(rng, JOB_TITLES).title()}, {pick(rng, COMPANIES)} ({pick(rng, CITIES)})"
            for y in starts]
    return "\n".join([name, f"{email_of(name, pick(rng, COMPANIES))} · {pick(rng, CITIES)}", "",
                      "Experience", *jobs, "", "Education",
                      f"{pick(rng, DEGREES)}, {pick(rng, UNIVERSITIES)}, {int(rng.integers(2002, 2016))}",
                      f"Skills: {', '.join(pick_k(rng, SKILLS, 4))}"])


def contact_blob(rng) -> str:
    parts = []
    for _ in range(int(rng.integers(2, 6))):
        name, company = person(rng), pick(rng, COMPANIES)
        email = email_of(name, company)
        phone = f"{pick(rng, ('+44 7700 900', '(415) 555-0', '+49 151 2345'))}{int(rng.integers(100, 999))}"
        parts.append(pick(rng, (f"You can reach {name} at {email} or on {phone}.",
                                f"For billing, email {email} ({name}, {company}).",
                                f"{name.split()[0]}'s new mobile is {phone}, office line unchanged.",
                                f"cc {email}")))
    return " ".join(parts)


TICKET_OPENERS = ("since the last update", "after two weeks of use", "out of the box", "every morning")
TICKET_FAULTS = ("keeps disconnecting", "won’t turn on", "makes a grinding noise", "shows error E{code}",
                 "drains the battery overnight")
TICKET_TRIED = ("I already tried a factory reset. ", "I have restarted it several times. ", "My colleague has the same issue. ", "")
TICKET_ENDINGS = ("We have a client demo tomorrow, please help ASAP.", "Not urgent, but annoying.",
                  "This is the third time I am writing about this!", "Can I get a replacement?")


def support_ticket(rng) -> str:
    product = pick(rng, PRODUCTS)
    fault = pick(rng, TICKET_FAULTS).format(code=int(rng.integers(10, 99)))
    return (f"Ticket #{int(rng.integers(1000, 99999))} – from {person(rng)} ({pick(rng, COMPANIES)})\n"
            f"Subject: {pick(rng, ('URGENT', 'Problem with', 'Question about', 'Still broken:'))} {product}\n\n"
            f"{pick(rng, ('Hi,', 'Hello support,', 'Hey there,'))} {pick(rng, TICKET_OPENERS)} my {product} {fault}. "
            f"{pick(rng, TICKET_TRIED)}{pick(rng, TICKET_ENDINGS)}")


DRUGS = ("amoxicillin 500 mg", "ibuprofen 400 mg", "metformin 850 mg", "atorvastatin 20 mg", "omeprazole 20 mg",
         "lisinopril 10 mg", "sertraline 50 mg", "salbutamol inhaler 100 mcg")
DOSING = ("once daily", "twice daily with food", "every 8 hours for 7 days", "at night", "as needed, max 4 times a day")


def prescription_note(rng) -> str:
    orders = [f"Start {drug} {pick(rng, DOSING)}." if i % 2 == 0 else f"Continue {drug}, {pick(rng, DOSING)}."
              for i, drug in enumerate(pick_k(rng, DRUGS, int(rng.integers(2, 5))))]
    return f"Pt seen today. {' '.join(orders)} Review in {int(rng.integers(1, 8))} weeks."


EVENTS = ("our quarterly planning day", "the summer party", "a workshop on data privacy", "the product launch", "Friday drinks")


def event_invite(rng) -> str:
    venue = pick(rng, ("the Harbour Room", f"our {pick(rng, CITIES)} office", "Café Central", "Room 4.12"))
    return (f"{pick(rng, ('You are invited to', 'Join us for', 'Save the date:'))} {pick(rng, EVENTS)} "
            f"on {date_text(rng)}, {clock(rng, 9, 18)}–{clock(rng, 12, 22)}, at {venue}. "
            f"{pick(rng, ('RSVP to ', 'Questions to ', 'Organised by '))}{person(rng)}.")


ARTICLE_SUBJECTS = ("protected bike lanes", "a four-day working week pilot", "free public transport", "heat pump subsidies",
                    "coral reef restoration", "free school meals", "battery recycling", "rooftop solar", "remote work",
                    "congestion charging", "community gardens", "AI tutoring in schools", "water metering",
                    "short-term rental rules", "night buses", "a ban on phones in classrooms")


def article(rng) -> str:
    """A local-news article about one subject in one city, 4–11 sentences in paragraphs of 2–4."""
    subject, city = pick(rng, ARTICLE_SUBJECTS), pick(rng, CITIES)
    pool = (
        lambda: (f"{city} has seen a {int(rng.integers(5, 80))}% rise in interest in {subject} since "
                 f"{int(rng.integers(2015, 2025))}, according to a report published on {date_text(rng)} by {pick(rng, COMPANIES)}."),
        lambda: f"\"We didn't expect the change to happen this fast,\" said {person(rng)}, who has studied {subject} for over a decade.",
        lambda: (f"Critics argue that the benefits of {subject} are unevenly distributed, with lower-income neighbourhoods "
                 f"seeing little improvement."),
        lambda: f"The city council has set aside {money(rng, 2, 90, '$')} million for {subject} over the next {int(rng.integers(2, 10))} years.",
        lambda: f"Similar programmes in {pick(rng, CITIES)} and {pick(rng, CITIES)} have produced mixed results.",
        lambda: (f"A survey of {int(rng.integers(300, 5000))} residents found that {int(rng.integers(40, 80))}% support further "
                 f"investment in {subject}, while {int(rng.integers(10, 35))}% are opposed."),
        lambda: f"Supporters point to lower costs and better outcomes, but the data so far covers only {int(rng.integers(3, 24))} months.",
        lambda: f"Officials expect to publish a full evaluation by {date_text(rng)}.",
        lambda: (f"Local businesses report mixed effects: some cite "
                 f"{pick(rng, ('more foot traffic', 'higher costs', 'staff shortages', 'new customers'))}, others say nothing has changed."),
        lambda: f"The next phase, due to begin in {pick(rng, MONTHS)}, will extend {subject} to {int(rng.integers(2, 12))} more districts.",
        lambda: (f"Opposition councillor {person(rng)} called the plan "
                 f"\"{pick(rng, ('reckless', 'a gimmick', 'long overdue', 'badly costed'))}\" and demanded an independent audit."),
        lambda: (f"Experts caution that {subject} works best alongside "
                 f"{pick(rng, ('better enforcement', 'clear communication', 'stable funding', 'public consultation'))}."),
    )
    order = rng.choice(len(pool), size=int(rng.integers(4, 12)), replace=False)
    sentences = [pool[int(i)]() for i in order]
    paragraphs, i = [], 0
    while i < len(sentences):  # paragraphs of 2–4 sentences, as a pasted article would have
        step = int(rng.integers(2, 5))
        paragraphs.append(" ".join(sentences[i:i + step]))
        i += step
    return "\n\n".join(paragraphs)


EMAIL_SENTENCES = ("Can we push the review to next week?", "I've attached the latest numbers.",
                   "Finance needs the final figures by Friday.", "The client is asking for a 10% discount.",
                   "Legal hasn't signed off on the contract yet.", "I think we should go with option B.",
                   "Option B is cheaper but takes two weeks longer.", "Let's keep the launch date as planned.",
                   "I'm out of office on Thursday, so please loop in my deputy.",
                   "The supplier confirmed delivery for the 14th.", "We still don't know who owns the migration.",
                   "Agreed, but only if marketing can deliver the assets in time.", "Sorry for the delay on this one.",
                   "Can someone confirm the budget is approved?", "Happy to jump on a call if easier.")


def email_thread(rng) -> str:
    people = pick_k(rng, FIRST_NAMES, int(rng.integers(2, 4)))
    messages = []
    for k in range(int(rng.integers(2, 5))):
        body = " ".join(pick_k(rng, EMAIL_SENTENCES, int(rng.integers(2, 5))))
        messages.append(f"From: {people[k % len(people)]}\nDate: {date_text(rng, 2026)}\n\n{body}")
    return "\n\n---\n\n".join(messages)


TRANSCRIPT_LINES = ("I think the main risk is the timeline.", "Do we have data on that?", "Yes, churn went down last month.",
                    "We should talk to the customers before deciding.", "Can we afford another hire this quarter?",
                    "Let me check with finance and come back to you.", "I disagree, the old design tested better.",
                    "So the plan is to ship on the 20th?", "Only if QA signs off.", "Who is taking the action on this?",
                    "I can take it.", "The competitor just cut their prices.", "That doesn't change our strategy.",
                    "Let's park that and move on.", "Quick update: the integration is finally live.",
                    "We lost two deals because of the missing SSO feature.", "Support tickets are up 30% since the release.")


def transcript(rng) -> str:
    speakers = pick_k(rng, FIRST_NAMES, int(rng.integers(2, 5)))
    return "\n".join(f"{pick(rng, speakers)}: {pick(rng, TRANSCRIPT_LINES)}" for _ in range(int(rng.integers(6, 16))))


BAD_REVIEW_LINES = ("Stopped working after three weeks.", "The app is buggy and keeps logging me out.",
                    "Much smaller than it looks in the photos.", "Battery life is nowhere near what they claim.",
                    "Arrived with a scratch and the box was damaged.", "Way too loud.", "Instructions were only in German.")


def reviews(rng) -> str:
    product = pick(rng, PRODUCTS)
    good = (f"Love this {product}, works exactly as described.", "Great value for the price.", "Setup took two minutes.",
            "Build quality is excellent.", "Customer service replaced mine quickly.", "Quiet and easy to clean.")
    out = []
    for _ in range(int(rng.integers(3, 9))):
        stars = int(rng.integers(1, 6))
        pool = good if stars >= 4 else BAD_REVIEW_LINES if stars <= 2 else good + BAD_REVIEW_LINES
        out.append("★" * stars + "☆" * (5 - stars) + " " + " ".join(pick_k(rng, pool, int(rng.integers(1, 3)))))
    return "\n".join(out)


INCIDENT_SERVICES = ("checkout", "login", "search", "payments API", "notification service", "file uploads")
INCIDENT_CAUSES = ("an expired TLS certificate", "a database migration that locked the orders table",
                   "a bad config push to the load balancer", "a memory leak in the new cache layer", "a third-party DNS outage")
INCIDENT_DETECTIONS = ("customer reports on social media", "an on-call page from the latency alert", "a failed synthetic check")
INCIDENT_FIXES = ("rolled back to the previous release", "renewed the certificate manually", "failed over to the secondary region",
                  "restarted the affected pods")
INCIDENT_FOLLOW_UPS = ("add an alert on certificate expiry", "review the migration checklist", "load-test the cache layer",
                       "write a runbook", "add a canary stage to deploys")


def incident_report(rng) -> str:
    service = pick(rng, INCIDENT_SERVICES)
    return "\n".join([
        f"Incident #{int(rng.integers(100, 999))} – {service} outage ({date_text(rng)})",
        f"Start: {clock(rng, 0, 22)} UTC. Duration: {int(rng.integers(8, 240))} minutes. Severity: SEV-{int(rng.integers(1, 4))}.",
        f"Impact: {int(rng.integers(2, 100))}% of requests to {service} failed; about {int(rng.integers(200, 90000)):,} users affected.",
        f"Root cause: {pick(rng, INCIDENT_CAUSES)}.",
        f"Detection: {pick(rng, INCIDENT_DETECTIONS)}.",
        f"Mitigation: {pick(rng, INCIDENT_FIXES)}.",
        f"Follow-ups: {'; '.join(pick_k(rng, INCIDENT_FOLLOW_UPS, 2))}."])


PAPER_NAMES = ("SPARSE-KV", "FlowMix", "ReLoRA++", "GraphDiff", "TinyRouter", "CoDistill")
PAPER_TASKS = ("long-context language modelling", "protein structure prediction", "tabular anomaly detection",
               "multilingual speech recognition", "molecular property prediction")
PAPER_PRIOR = ("dense attention", "hand-crafted features", "large labelled datasets", "expensive ensembles")
PAPER_METHODS = ("learns a sparse routing of tokens to experts", "distils a teacher into a compact student",
                 "uses diffusion over graph edits", "adapts low-rank updates during pre-training")
PAPER_DATA = ("three public benchmarks", "ImageNet-scale data", "a new dataset of 1.2M examples", "twelve languages")
PAPER_LIMITS = ("sensitivity to hyperparameters", "evaluation on English only", "higher memory use at inference")


def abstract(rng) -> str:
    return (f"We propose {pick(rng, PAPER_NAMES)}, a {pick(rng, ('simple', 'scalable', 'training-free', 'data-efficient'))} "
            f"method for {pick(rng, PAPER_TASKS)}. Unlike prior work that relies on {pick(rng, PAPER_PRIOR)}, "
            f"our approach {pick(rng, PAPER_METHODS)}. On {pick(rng, PAPER_DATA)}, it improves "
            f"{pick(rng, ('accuracy', 'F1', 'perplexity', 'AUROC'))} by {float(rng.uniform(0.5, 6)):.1f} points while using "
            f"{float(rng.uniform(1.5, 9)):.1f}× less compute. Ablations show that "
            f"{pick(rng, ('the gating loss', 'the curriculum', 'the auxiliary objective'))} accounts for most of the gain. "
            f"We discuss limitations, including {pick(rng, PAPER_LIMITS)}.")


CHAT_CUSTOMER = ("hi, my order hasn't arrived", "it says delivered but it's not here", "the order number is in my email",
                 "can I just get a refund?", "this is the second time this happens", "ok thanks", "how long will that take?",
                 "I was charged twice", "fine, a replacement is ok")
CHAT_AGENT = ("Sorry to hear that! Could you share your order number?", "Thanks, I can see it was marked as delivered yesterday.",
              "I've opened an investigation with the carrier.", "I can offer a refund or a replacement, whichever you prefer.",
              "The refund will show in 3–5 business days.", "I've added a voucher to your account for the trouble.",
              "Is there anything else I can help with?")


def chat_log(rng) -> str:
    lines = []
    for _ in range(int(rng.integers(3, 8))):
        lines.append(f"Customer: {pick(rng, CHAT_CUSTOMER)}")
        lines.append(f"Agent: {pick(rng, CHAT_AGENT)}")
    return "\n".join(lines)


OP_ED_CAUSES = ("ban cars from city centres", "make public transport free", "tax sugary drinks",
                "raise the voting age to 18 everywhere", "require a four-day week", "ban homework in primary schools")


def op_ed(rng) -> str:
    pool = (f"It is time to {pick(rng, OP_ED_CAUSES)}.", "The evidence from other countries is clearer than opponents admit.",
            "Yes, there are costs, but inaction costs more.", "Critics say the change would hurt small businesses.",
            "That argument was made about every reform that later proved popular.", "The people most affected are rarely asked.",
            f"Polling suggests {int(rng.integers(40, 70))}% of voters agree.", "Politicians prefer pilots to decisions.",
            "We should stop studying this and act.", "A phased approach would give everyone time to adapt.")
    return " ".join(pick_k(rng, pool, int(rng.integers(5, 9))))


POLICY_RULES = ("Lock your screen whenever you leave your desk.", "Expenses over $500 need prior approval from your manager.",
                "Customer data must never be stored on personal devices.", "Report security incidents to security@ within one hour.",
                "Remote work is allowed up to three days a week.", "Travel must be booked through the company portal.",
                "Gifts from suppliers worth more than $50 must be declared.", "Use the password manager for all work accounts.",
                "Annual leave requests need two weeks' notice.", "Visitors must be signed in at reception and accompanied.")


def policy_text(rng) -> str:
    return "\n".join(f"{i + 1}. {rule}" for i, rule in enumerate(pick_k(rng, POLICY_RULES, int(rng.integers(4, 9)))))


PROPOSAL_ACTIONS = ("migrate to a managed database", "build the feature in-house", "outsource level-1 support",
                    "open a second warehouse", "rewrite the app in React Native", "buy a data-labelling platform")
PROPOSAL_BENEFITS = ("lower running costs", "faster delivery", "better reliability", "happier customers")
PROPOSAL_EXTRAS = ("less on-call load", "a shorter sales cycle", "room to grow", "compliance with the new rules")
PROPOSAL_RISKS = ("vendor lock-in", "a long migration", "hiring difficulties", "hidden licence costs", "staff pushback")


def proposal(rng) -> str:
    return (f"We propose to {pick(rng, PROPOSAL_ACTIONS)} at a cost of {money(rng, 20, 900, '$')}k over "
            f"{int(rng.integers(2, 18))} months. Expected benefits: {pick(rng, PROPOSAL_BENEFITS)} and "
            f"{pick(rng, PROPOSAL_EXTRAS)}. Risks: {pick(rng, PROPOSAL_RISKS)}.")


def paragraph_to_rewrite(rng) -> str:
    return pick(rng, (
        f"hey all, so the launch is moved to {pick(rng, MONTHS)} because stuff wasnt ready, sorry, we will update u soon",
        f"Our {pick(rng, PRODUCTS)} is good and it has many features and people like it and it is cheap.",
        "The meeting was long. We talked about a lot. Some decisions were made but not all. Next time we continue.",
        f"I am writing to complain because the {pick(rng, PRODUCTS)} I bought broke and nobody answers my emails and I am very angry.",
        f"We regret to inform you that due to unforeseen circumstances the event in {pick(rng, CITIES)} is cancelled.",
        "Our team is passionate about synergy and leveraging best-in-class solutions to drive value.",
    ))


def code_snippet(rng) -> SlotValue:
    lang, code, _ = pick(rng, CODE_SNIPPETS)
    return SlotValue(f"```{lang}\n{fill_code(rng, code)}\n```", 0.0, 1.0)


def bug_report(rng) -> SlotValue:
    """A pasted snippet with the error it throws; the first line is the request."""
    lang, code, error = pick(rng, CODE_SNIPPETS)
    code, error = fill_code(rng, code), fill_code(rng, error)
    block = f"```{lang}\n{code}\n```"
    layout = int(rng.integers(3))
    if layout == 0:
        return SlotValue(f"Why does this give me {error}?\n{block}")
    if layout == 1:
        return SlotValue(f"I'm getting an error I don't understand, can you help?\n{block}\n{error}")
    return SlotValue(f"this is broken: {error}. what am I doing wrong\n{block}")


CODE_IDENTIFIERS = {
    "fn": ("process_orders", "load_users", "compute_totals", "merge_records", "parse_config", "sync_inventory", "build_report"),
    "jsfn": ("processOrders", "loadUsers", "computeTotals", "mergeRecords", "saveResults", "fetchPrices"),
    "key": ("customer_id", "sku", "region", "account", "email", "category"),
    "field": ("name", "id", "items", "length", "total"),
}


def fill_code(rng, code: str) -> str:
    return string.Template(code).safe_substitute({k: pick(rng, v) for k, v in CODE_IDENTIFIERS.items()})


# (language, code, the error or symptom). $names are filled from CODE_IDENTIFIERS.
CODE_SNIPPETS = (
    ("python", "def $fn(rows):\n    totals = {}\n    for row in rows:\n        totals[row[\"$key\"]] += row[\"amount\"]\n    return totals",
     "KeyError: 'ACME-104'"),
    ("python", "def $fn(item, seen=[]):\n    seen.append(item)\n    return len(seen)",
     "it keeps remembering values from earlier calls"),
    ("javascript", "async function $jsfn(ids) {\n  const out = [];\n  ids.forEach(async (id) => {\n    out.push(await fetchOne(id));\n  });\n  return out;\n}",
     "it always returns an empty array"),
    ("python", "def $fn(values):\n    for i in range(len(values) + 1):\n        if values[i] > values[i - 1]:\n            print(i)",
     "IndexError: list index out of range"),
    ("javascript", "class Cart {\n  constructor() { this.items = []; }\n  total() {\n"
                   "    return this.items.map(function (it) { return it.price * this.qty; });\n  }\n}",
     "TypeError: Cannot read properties of undefined (reading 'qty')"),
    ("go", "func $jsfn(names []string) map[string]int {\n    var counts map[string]int\n"
           "    for _, n := range names {\n        counts[n]++\n    }\n    return counts\n}",
     "panic: assignment to entry in nil map"),
    ("sql", "SELECT c.name, o.created_at, SUM(o.total)\nFROM customers c\nJOIN orders o ON o.customer_id = c.id\nGROUP BY c.name;",
     "ERROR: column \"o.created_at\" must appear in the GROUP BY clause"),
    ("python", "df = pd.read_csv(\"sales.csv\")\nrecent = df[df[\"year\"] > 2023]\nrecent[\"$key\"] = recent[\"$key\"].str.upper()",
     "SettingWithCopyWarning: A value is trying to be set on a copy of a slice"),
    ("rust", "fn main() {\n    let mut v = vec![1, 2, 3];\n    let first = &v[0];\n    v.push(4);\n    println!(\"{}\", first);\n}",
     "error[E0502]: cannot borrow `v` as mutable because it is also borrowed as immutable"),
    ("java", "public int $jsfn(Map<String, Integer> stock, String sku) {\n    int n = stock.get(sku);\n    return n * 2;\n}",
     "java.lang.NullPointerException"),
    ("python", "import requests\n\ndef $fn(urls):\n    results = []\n    for u in urls:\n        results.append(requests.get(u).json())\n    return results",
     "it takes forever with 500 URLs"),
    ("typescript", "function $jsfn(user?: { $field: string }) {\n  return user.$field.toUpperCase();\n}",
     "error TS18048: 'user' is possibly 'undefined'"),
)


# ---------------------------------------------------------------------------------------------------------------
# The template banks, one per category. Difficulties in bank units (× DIFFICULTY_SCALE gives logits): about −1.5
# for a trivial request, +1.5 for a proof or a system design. Slot values and modifiers add to it.
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CategoryBank:
    templates: tuple[Template, ...]
    modifiers: tuple[Modifier, ...]
    slots: dict
    informal_rate: float  # share of requests typed casually (lower case, no full stop, "pls", a typo)


CODING = CategoryBank(
    templates=(
        T("[Write|Can you write|I need|Quick one: write] a {lang} function that {simple_task}.", -0.8, 0.7),
        T("[How do I|How can I|What's the easiest way to|How would I] {howto} in {lang}?", -1.1, 0.5, ("libs", "length", "example")),
        T("[Implement|Write|Can you implement|I need to implement] {algo} in {lang}.", 0.6, 1.3),
        T("[Can you explain what this code does?|What does this do?|Explain this code to me please."
          "|I inherited this code, what is it doing?]\n{code}", -0.4, 0.8, ("length",)),
        T("{bug_report}", 0.2, 0.9, ("length", "edge", "tests", "production")),
        T("{schema}, write a SQL query that returns {sql_goal}.", 0.0, 0.6, ("length", "edge", "production")),
        T("[Refactor this to be cleaner and more idiomatic:|How would you clean this up?|Make this code more readable:]\n{code}", 0.2, 1.0),
        T("[Write a regex that matches|I need a regular expression for|regex for|What regex would match] {regex_target}[.|?|]",
          -0.3, 0.4, ("edge", "tests", "length", "example")),
        T("[What's the difference between|Can you explain the difference between|When should I use each of] {concept_pair}?",
          -0.8, 0.7, ("length", "example")),
        T("[Give me a bash one-liner to {bash_task}.|What's a bash one-liner to {bash_task}?|bash: how do I {bash_task}?"
          "|How do I {bash_task} from the terminal?]", -0.6, 0.2, ("length", "edge")),
        T("Design {system}: describe the main components and how they interact, then write the core logic in {lang}.", 1.0, 2.0),
        T("[Write unit tests for this function:|Can you write tests for this?|I need tests for the following:]\n{code}",
          0.0, 1.2, ("edge", "length", "libs")),
        T("Convert this snippet to {lang}:\n{code}", 0.2, 1.0, ("libs", "length", "tests", "edge")),
        T("Write a Dockerfile and a docker-compose file for a {framework} app with a Postgres database.", -0.1, 1.0, ("production", "length")),
        T("[Write|I need|Can you make] a {lang} script that {script_task}.", -0.3, 1.0),
        T("My {lang} program is really slow when {slow_case}. How can I speed it up?", 0.4, 1.0, ("length", "memory", "production", "libs")),
        T("[Review this code for bugs and security issues:|Is there anything wrong with this code?|Code review please:"
          "|Can you spot any bugs here?]\n{code}", 0.4, 1.1, ("length", "production")),
        T("What's the best way to structure a {framework} project that {project_scale}?", 0.1, 1.1, ("length", "production", "example")),
    ),
    modifiers=(
        M("complexity", 0.8, 1.1, "It must run in O(n log n) time.", "It needs to be O(n) time and O(1) extra space.",
          "Optimise it for speed, it has to handle 10^7 elements.", "Make sure it's at most O(n log n)."),
        M("libs", 0.4, 1.0, "Don't use any libraries.", "Without using any library, standard library only.",
          "No external packages allowed.", "Please don't use third-party libraries."),
        M("edge", 0.5, 1.1, "Handle unicode and empty input.", "Make sure it handles edge cases like empty input, nulls and huge values.",
          "It should cope with malformed input without crashing."),
        M("tests", 0.5, 1.6, "Include type hints and unit tests.", "Add type hints and pytest tests.",
          "Add docstrings and unit tests too.", "Write tests covering the edge cases as well."),
        M("concurrency", 0.9, 1.2, "It has to be thread-safe.", "It'll be called from many threads at once, so make it safe under concurrency.",
          "Make it work with async/await without blocking the event loop."),
        M("length", 0.5, 1.5, "First explain the approach, then write the code, and finally analyse its complexity.",
          "First outline the design, then implement it, then show an example run."),
        M("length", -0.1, 0.6, "Just the code, no explanation.", "code only pls", "Keep the answer short."),
        M("length", 0.1, 1.7, "Explain each line in detail.", "Please be detailed and explain every step."),
        M("production", 0.4, 1.2, "This is for a production service handling ~5k requests per second.",
          "It'll run in production, so add logging and proper error handling."),
        M("memory", 0.7, 1.1, "The input doesn't fit in memory, so it has to stream.", "Memory is tight (256 MB) and the file is 20 GB."),
        M("example", 0.1, 1.3, "Show an example of using it.", "Include a small usage example."),
    ),
    slots={
        "simple_task": ("reverses a string", "checks whether a number is prime", "counts the vowels in a string",
                        "removes duplicates from a list while keeping the order", "returns the n-th Fibonacci number",
                        "converts Celsius to Fahrenheit", "flattens a nested list", "checks if a string is a palindrome",
                        "finds the second largest number in an array", "capitalises the first letter of every word",
                        "merges two sorted lists", "counts word frequencies in a text", "validates an email address",
                        "returns the intersection of two arrays", ("rotates a matrix 90 degrees", 0.2),
                        ("parses a duration like '1h30m' into seconds", 0.2),
                        ("computes the Levenshtein distance between two strings", 0.4),
                        ("finds the longest substring without repeating characters", 0.5),
                        ("evaluates an arithmetic expression given as a string", 0.8),
                        ("serialises and deserialises a binary tree", 0.6)),
        "howto": ("read a CSV file", "make an HTTP GET request", "parse a JSON string", "sort a dictionary by value",
                  "get the current date and time", "read environment variables", "loop over all files in a folder",
                  "format a number with two decimal places", "check if a key exists in a map", "split a string on whitespace",
                  "append to a file", "generate a random number between 1 and 10", "convert a string to an integer",
                  "remove an element from a list", "run a shell command", "measure how long a function takes"),
        "algo": (("Dijkstra's shortest path algorithm", 0.2), ("an LRU cache", 0.1), ("a trie with prefix search", 0.1),
                 ("a thread-safe bounded queue", 0.6), ("a token-bucket rate limiter", 0.3), ("an interval tree", 0.6),
                 ("union-find with path compression", 0.1), ("KMP string search", 0.4), ("a binary min-heap", 0.0),
                 ("red-black tree insertion", 0.9), ("a consistent hashing ring", 0.5), ("a Bloom filter", 0.2),
                 ("A* search on a grid", 0.4), ("topological sort", 0.0), ("a skip list", 0.6), ("merge sort", -0.3),
                 ("binary search", -0.5), ("a Raft leader election", 1.2)),
        "code": code_snippet,
        "bug_report": bug_report,
        "schema": ("Given tables customers(id, name, country) and orders(id, customer_id, created_at, total)",
                   "I have a table events(user_id, event_type, ts) and a table users(id, signup_date, plan)",
                   "With employees(id, name, manager_id, dept, salary)",
                   "Using products(id, name, category), sales(id, product_id, region, sold_at, amount)"),
        "sql_goal": (("the number of orders per day", -0.2), ("customers who have never placed an order", 0.0),
                     ("the top 3 products by revenue in each region", 0.5), ("a running total of sales per month", 0.4),
                     ("the median order value per country", 0.6),
                     ("users whose first and last events are more than 90 days apart", 0.5),
                     ("the month-over-month growth in active users", 0.6), ("duplicate rows", -0.2),
                     ("each employee with their manager's name", 0.0),
                     ("the longest streak of consecutive active days per user", 1.0)),
        "regex_target": ("email addresses", ("UK postcodes", 0.4), "ISO 8601 dates", ("IPv4 addresses", 0.3),
                         ("US phone numbers in any common format", 0.4), ("hex colour codes", -0.2), ("URLs", 0.2),
                         ("passwords with 8+ characters, a digit, an uppercase letter and a symbol", 0.4),
                         ("semantic version strings like 1.2.3-beta.1", 0.3)),
        "concept_pair": ("a list and a tuple in Python", "== and === in JavaScript", "let, const and var",
                         "an abstract class and an interface", "a process and a thread", "async/await and threads",
                         "a shallow copy and a deep copy", "the stack and the heap", "TCP and UDP", "REST and GraphQL",
                         "composition and inheritance", ("a mutex and a semaphore", 0.2),
                         ("optimistic and pessimistic locking", 0.3), ("eventual and strong consistency", 0.4)),
        "bash_task": ("find all files larger than 100MB", "count the lines in every .py file", "replace 'foo' with 'bar' in all .txt files",
                      "kill the process listening on port 8080", "show the 10 biggest directories", "delete log files older than 7 days",
                      "extract the second column of a CSV", "follow a log and only show lines with ERROR"),
        "system": (("a URL shortener", 0.0), ("a chat server with rooms", 0.3), ("a job queue with retries and a dead-letter queue", 0.5),
                   ("an in-memory key-value store with TTLs", 0.2), ("a parking lot system", -0.2), ("a rate-limited API gateway", 0.4),
                   ("a collaborative text editor", 0.9), ("a library management system", -0.2), ("an event-sourced bank account", 0.6)),
        "framework": ("Flask", "FastAPI", "Django", "Express", "Next.js", "Spring Boot", "Rails", "Laravel"),
        "script_task": ("renames all .jpeg files in a folder to .jpg", "downloads a web page and counts the words on it",
                        "merges two CSV files on an id column", "watches a folder and prints new files as they appear",
                        "backs up a Postgres database every night", "resizes every image in a folder to 800px wide",
                        "sends a Slack message when a website goes down", "deduplicates lines in a huge text file",
                        "converts a JSON file to CSV", "checks a list of URLs and reports the broken ones"),
        "slow_case": ("processing a 2GB log file", "looping over a million rows", "it makes hundreds of API calls one by one",
                      "building a big string in a loop", "it queries the database inside a loop", "parsing large XML files"),
        "project_scale": ("has grown to 40 endpoints", "is shared by three teams", "needs background jobs and a REST API",
                          "has to support plugins", "will be deployed to several customers on-prem"),
    },
    informal_rate=0.25,
)


def linear_equation(rng) -> str:
    x, a, b = int(rng.integers(-12, 13)), int(rng.integers(2, 13)), int(rng.integers(-30, 31))
    c = a * x + b
    return f"{a}x {'+' if b >= 0 else '−'} {abs(b)} = {c}"


def quadratic_equation(rng) -> SlotValue:
    r1, r2 = int(rng.integers(-9, 10)), int(rng.integers(-9, 10))
    lead = 1 if rng.random() < 0.7 else int(rng.integers(2, 6))
    b, c = -lead * (r1 + r2), lead * r1 * r2
    text = f"{'' if lead == 1 else lead}x² {'+' if b >= 0 else '−'} {abs(b)}x {'+' if c >= 0 else '−'} {abs(c)} = 0"
    return SlotValue(text, 0.0 if lead == 1 else 0.2)


def equation_system(rng) -> SlotValue:
    n = 2 if rng.random() < 0.7 else 3
    sol = rng.integers(-6, 7, size=n)
    names = "xyz"[:n]
    equations = []
    for _ in range(n):
        coef = rng.integers(-5, 6, size=n)
        coef[coef == 0] = 1
        lhs = " ".join(f"{'+ ' if c > 0 and k else '− ' if c < 0 and k else '-' if c < 0 else ''}{abs(int(c)) if abs(int(c)) != 1 else ''}{v}"
                       for k, (c, v) in enumerate(zip(coef, names)))
        equations.append(f"{lhs} = {int(coef @ sol)}")
    return SlotValue(", ".join(equations), 0.0 if n == 2 else 0.5)


def matrix(rng) -> SlotValue:
    n = 2 if rng.random() < 0.7 else 3
    rows = ", ".join("[" + ", ".join(str(int(v)) for v in rng.integers(-4, 8, size=n)) + "]" for _ in range(n))
    return SlotValue(f"[{rows}]", 0.0 if n == 2 else 0.6)


def unit_conversion(rng) -> str:
    unit_from, unit_to, low, high = pick(rng, (("miles", "kilometres", 1, 60), ("°F", "Celsius", -10, 110),
                                               ("cups", "millilitres", 1, 6), ("pounds", "kilograms", 5, 250),
                                               ("hectares", "acres", 1, 40), ("mph", "metres per second", 10, 90),
                                               ("kcal", "kilojoules", 100, 3000), ("litres", "US gallons", 1, 80),
                                               ("inches", "centimetres", 1, 100), ("km/h", "mph", 20, 140)))
    value = rng.uniform(low, high)
    return f"{value:.1f} {unit_from} to {unit_to}" if rng.random() < 0.3 else f"{int(value)} {unit_from} to {unit_to}"


MATHS = CategoryBank(
    templates=(
        T("[What is {big_int} × {big_int2}?|what's {big_int} times {big_int2}|{big_int} * {big_int2} = ?"
          "|Multiply {big_int} by {big_int2}.]", -1.4, 0.2, ("length", "hand")),
        T("what's {pct}% of {amount}", -1.6, 0.15, ("length", "hand")),
        T("Solve for x: {lin_eq}", -0.9, 0.5, ("length", "exact", "mistakes", "alternative")),
        T("Solve {quad_eq}.", -0.3, 0.7, ("length", "exact", "mistakes", "alternative", "hand")),
        T("Solve the system of equations {eq_system}.", 0.0, 0.8, ("length", "exact", "alternative", "hand", "generalise")),
        T("[What is the derivative of {func}?|Differentiate {func}.|d/dx of {func}?|Find the derivative of {func} with respect to x.]",
          -0.4, 0.6, ("length", "mistakes", "rigour", "alternative")),
        T("[Compute|Evaluate|Can you work out|Find] the integral of {integral}.", 0.4, 0.9, ("length", "exact", "mistakes", "alternative", "rigour")),
        T("A {product} costs {price} after a {pct}% discount. What was the original price?", -0.6, 0.5, ("length", "mistakes", "alternative")),
        T("If I invest {principal} at {rate}% interest compounded {freq}, how much will I have after {years} years?", -0.3, 0.6,
          ("length", "exact", "mistakes", "generalise")),
        T("[Prove that|Can you prove that|Show that|I need a proof that] {theorem}.", 1.4, 1.3, ("length", "rigour", "generalise", "alternative")),
        T("[What is the probability of|What are the chances of|How likely is it,] {prob_event}?", 0.3, 0.8,
          ("length", "exact", "mistakes", "generalise", "alternative")),
        T("Find the eigenvalues and eigenvectors of {matrix}.", 0.6, 1.1, ("length", "exact", "hand", "rigour")),
        T("In how many ways can {count_problem}?", 0.5, 0.8, ("length", "generalise", "alternative", "mistakes")),
        T("[Convert {conversion}.|convert {conversion}|How much is {conversion}?|{conversion}?]", -1.5, 0.15, ("length",)),
        T("Find the limit as {limit}.", 0.4, 0.8, ("length", "rigour", "alternative", "mistakes")),
        T("Two trains leave {city} and {city2}, {dist} km apart, heading towards each other at {speed} km/h and {speed2} km/h. "
          "When do they meet?", 0.0, 0.7, ("length", "alternative", "generalise")),
        T("What is the sum of {series}?", 0.6, 0.8, ("length", "rigour", "exact", "generalise")),
        T("Find the mean, median and standard deviation of {data_list}.", -0.5, 0.6, ("length", "hand", "mistakes")),
    ),
    modifiers=(
        M("length", 0.2, 1.6, "Show your work step by step.", "Please show all the steps.", "Walk me through it step by step."),
        M("length", -0.1, 0.2, "Just the final answer please.", "only the answer, no explanation"),
        M("length", 0.5, 1.6, "First set up the problem, then work through it, and finally check your answer."),
        M("rigour", 0.9, 1.5, "Make the argument fully rigorous.", "Give a formal proof, not just intuition.", "Justify every step rigorously."),
        M("exact", 0.3, 1.0, "Give the exact answer, not a decimal.", "Keep it in exact form (fractions/surds)."),
        M("generalise", 1.0, 1.4, "Then generalise the result to n dimensions.", "Then generalise it to the case of n variables.",
          "Afterwards, prove the general case for any n."),
        M("hand", 0.3, 1.1, "Do it by hand, no calculator-style shortcuts.", "Without a calculator please."),
        M("mistakes", 0.2, 1.3, "Also explain where people usually go wrong.", "Point out the common mistakes too."),
        M("alternative", 0.5, 1.4, "Then solve it a second way to double-check.", "Solve it with two different methods."),
    ),
    slots={
        "big_int": lambda rng: str(int(rng.integers(12, 999))),
        "pct": ("5", "10", "12", "15", "17.5", "20", "25", "30", "35", "40", "60", "75"),
        "amount": lambda rng: str(int(rng.integers(20, 5000))),
        "lin_eq": linear_equation, "quad_eq": quadratic_equation, "eq_system": equation_system, "matrix": matrix,
        "func": ("x³ + 2x", ("sin(x)·eˣ", 0.2), "ln(x² + 1)", ("xˣ", 0.6), ("arctan(√x)", 0.4), "3x⁴ − 5x² + 7",
                 ("(x² + 1)/(x − 3)", 0.2), ("sin(cos(x²))", 0.5), "eˣ / x"),
        "integral": ("x² from 0 to 3", "sin(x) from 0 to π", ("x·eˣ from 0 to 1", 0.3), ("1/(1 + x²) from 0 to 1", 0.2),
                     ("ln(x) from 1 to e", 0.3), "x³ − 2x from −1 to 2", ("√(1 − x²) from 0 to 1", 0.5),
                     ("e^(−x²) over the whole real line", 0.8), ("sin²(x) from 0 to 2π", 0.3)),
        "price": lambda rng: money(rng, 8, 900),
        "principal": lambda rng: money(rng, 500, 50000, "$"),
        "rate": ("2", "3.5", "4", "5", "6.25", "7", "8"),
        "freq": ("annually", "monthly", "quarterly", ("continuously", 0.3), "daily"),
        "years": lambda rng: str(int(rng.integers(2, 31))),
        "theorem": (("there are infinitely many primes", 0.0), ("√2 is irrational", 0.0),
                    ("the sum of the first n odd numbers is n²", -0.3), ("every bounded monotone sequence converges", 0.4),
                    ("every group of prime order is cyclic", 0.5), ("n³ − n is divisible by 6 for every integer n", 0.0),
                    ("the harmonic series diverges", 0.1), ("a continuous function on [a, b] is bounded", 0.7),
                    ("e is irrational", 0.8), ("there is no surjection from a set onto its power set", 0.6),
                    ("the product of two odd numbers is odd", -0.6), ("every tree with n vertices has n − 1 edges", 0.2)),
        "prob_event": (("getting exactly 3 heads in 5 coin flips", -0.2), ("rolling a total of 8 with two dice", -0.3),
                       ("drawing two aces in a row from a standard deck without replacement", 0.0),
                       ("at least two people in a room of 30 sharing a birthday", 0.3),
                       ("a random chord of a circle being longer than the side of the inscribed equilateral triangle", 1.0),
                       ("getting a full house in a 5-card poker hand", 0.5),
                       ("needing more than 10 rolls of a die to see a six", 0.3)),
        "count_problem": (("the letters of MISSISSIPPI be arranged", 0.0), ("8 people sit around a round table", 0.0),
                          ("a committee of 4 be chosen from 6 men and 4 women with at least one woman", 0.3),
                          ("you climb 10 stairs taking 1 or 2 steps at a time", 0.2),
                          ("12 identical balls be put into 4 distinct boxes", 0.4),
                          ("you tile a 2×10 board with dominoes", 0.5), ("5 letters be put in 5 envelopes so none is in the right one", 0.6)),
        "conversion": unit_conversion,
        "limit": ("x → 0 of sin(3x)/x", ("x → ∞ of (1 + 2/x)^x", 0.3), "x → 2 of (x² − 4)/(x − 2)",
                  ("x → 0 of (1 − cos x)/x²", 0.2), ("x → 0⁺ of x·ln(x)", 0.3), ("n → ∞ of n^(1/n)", 0.4)),
        "dist": lambda rng: str(int(rng.integers(12, 90)) * 10),
        "speed": lambda rng: str(int(rng.integers(6, 30)) * 5),
        "series": (("1 + 1/2 + 1/4 + 1/8 + …", -0.5), ("1/1² + 1/2² + 1/3² + …", 0.6), ("1 − 1/3 + 1/5 − 1/7 + …", 0.5),
                   ("the first 100 positive integers", -0.8), ("k·2^k for k from 1 to n", 0.4), ("1/(k(k+1)) for k from 1 to ∞", 0.0)),
        "data_list": lambda rng: ", ".join(str(int(v)) for v in rng.integers(1, 60, size=int(rng.integers(5, 12)))),
    },
    informal_rate=0.2,
)


def ordering_puzzle(rng) -> SlotValue:
    """k people, k − 1 shuffled comparisons; more people, harder."""
    k = int(rng.integers(3, 7))
    names = pick_k(rng, FIRST_NAMES, k)
    attribute, most, least = pick(rng, (("taller than", "tallest", "shortest"), ("older than", "oldest", "youngest"),
                                        ("faster than", "fastest", "slowest"), ("richer than", "richest", "poorest")))
    facts = [f"{names[i]} is {attribute} {names[i + 1]}" for i in range(k - 1)]
    facts = [facts[int(i)] for i in rng.permutation(len(facts))]
    question = f"Who is the {pick(rng, (most, least))}?" if rng.random() < 0.7 else f"Is {names[-1]} {attribute} {names[0]}?"
    return SlotValue(f"{', '.join(facts[:-1])} and {facts[-1]}. {question}", 0.25 * (k - 3))


def syllogism(rng) -> SlotValue:
    a, b, c = pick_k(rng, ("bloops", "razzies", "lazzies", "wugs", "florbs", "zindles", "cats", "mammals", "pets", "engineers",
                           "musicians", "cyclists"), 3)
    form, difficulty = pick(rng, ((f"If all {a} are {b} and all {b} are {c}, are all {a} {c}?", -0.4),
                                  (f"If all {a} are {b} and some {b} are {c}, does it follow that some {a} are {c}?", 0.2),
                                  (f"No {a} are {b}. Some {c} are {b}. Can we conclude that some {c} are not {a}?", 0.4),
                                  (f"All {a} are {b}. No {c} are {b}. Is it possible that some {a} are {c}?", 0.1)))
    return SlotValue(form, difficulty)


def knights_puzzle(rng) -> SlotValue:
    k = int(rng.integers(2, 4))
    names = pick_k(rng, FIRST_NAMES, k)
    statements = []
    for i, name in enumerate(names):
        other = names[(i + 1) % k]
        statements.append(pick(rng, (f"{name} says: \"{other} is a knave.\"", f"{name} says: \"We are both knights.\"",
                                     f"{name} says: \"At least one of us is a knave.\"",
                                     f"{name} says: \"{other} and I are different types.\"")))
    return SlotValue("On an island, knights always tell the truth and knaves always lie. " + " ".join(statements)
                     + " Who is a knight and who is a knave?", 0.4 * (k - 2))


def objects_story(rng) -> str:
    thing = pick(rng, ("apples", "marbles", "stickers", "cookies", "books", "coins"))
    n, m, k = int(rng.integers(10, 40)), int(rng.integers(2, 10)), int(rng.integers(2, 15))
    return (f"I have {n} {thing}. I give {m} to my {pick(rng, ('sister', 'friend', 'neighbour'))}, then buy {k} more, "
            f"then lose half of them. How many {thing} do I have now?")


def jug_puzzle(rng) -> str:
    a, b = pick(rng, ((3, 5), (4, 7), (5, 7), (3, 8), (4, 9), (5, 11), (7, 10)))
    c = pick(rng, [v for v in range(1, b) if v != a])
    return f"You have a {a}-litre jug and a {b}-litre jug and unlimited water. How can you measure exactly {c} litres?"


def number_sequence(rng) -> SlotValue:
    kind = int(rng.integers(5))
    start, step = int(rng.integers(1, 10)), int(rng.integers(2, 8))
    if kind == 0:
        seq, d = [start + step * i for i in range(5)], -0.4
    elif kind == 1:
        seq, d = [start * step ** i for i in range(5)], -0.1
    elif kind == 2:
        seq, d = [(start + i) ** 2 for i in range(5)], 0.1
    elif kind == 3:
        seq = [start, start + step]
        for _ in range(4):
            seq.append(seq[-1] + seq[-2])
        d = 0.3
    else:  # two interleaved sequences
        seq, d = [start + step * (i // 2) if i % 2 == 0 else 100 - 3 * step * (i // 2) for i in range(7)], 0.6
    return SlotValue(", ".join(str(v) for v in seq) + ", …", d)


def family_puzzle(rng) -> SlotValue:
    a, b = pick_k(rng, FIRST_NAMES, 2)
    chain = pick_k(rng, ("mother", "father", "brother", "sister", "uncle", "aunt", "grandmother", "son", "daughter", "cousin"),
                   int(rng.integers(2, 4)))
    relation = "'s ".join(chain)
    return SlotValue(f"{a} is {b}'s {relation}. What is {a} to {b}?", 0.3 * (len(chain) - 2))


def schedule_puzzle(rng) -> SlotValue:
    k = int(rng.integers(4, 7))
    talks = list("ABCDEFG"[:k])
    hours = [f"{9 + i}:00" for i in range(k)]
    rules = []
    for _ in range(k - 1):
        x, y = pick_k(rng, talks, 2)
        rules.append(pick(rng, (f"{x} must come before {y}", f"{x} can't be at {pick(rng, hours)}",
                                f"{x} is right after {y}", f"{x} and {y} can't be next to each other",
                                f"{x} is either first or last")))
    return SlotValue(f"I need to schedule {k} talks ({', '.join(talks)}) into the slots {', '.join(hours)}. "
                     f"Rules: {'; '.join(rules)}. Give me a valid order.", 0.3 * (k - 4))


def clock_time(rng) -> str:
    return f"{int(rng.integers(1, 13))}:{int(rng.integers(0, 12)) * 5:02d}"


REASONING = CategoryBank(
    templates=(
        T("{ordering_puzzle}", -0.7, 0.5),
        T("{intro}{syllogism}", -0.2, 0.5),
        T("{knights_puzzle}", 0.8, 1.0),
        T("{objects_story}", -0.7, 0.4),
        T("{jug_puzzle}", 0.5, 0.9, ("length", "exhaustive", "verify")),
        T("[What's the next number in the sequence|What comes next:|Continue the pattern:|next number? ] {sequence}[?|]", -0.4, 0.4),
        T("{intro}{riddle}", 0.0, 0.5, ("length", "explain_wrong", "verify")),
        T("Is this argument valid? \"{argument}\"", 0.3, 0.7),
        T("{family_puzzle}", 0.1, 0.5),
        T("{intro}{monty}", 0.5, 0.9, ("length", "explain_wrong", "verify", "exhaustive")),
        T("{intro}If {machines} machines take {machines} minutes to make {machines} widgets, how long would {machines2} machines "
          "take to make {machines2} widgets?", -0.1, 0.5, ("length", "explain_wrong", "verify")),
        T("[What is the angle between the hour and minute hands of a clock at {clock_time}?"
          "|At {clock_time}, what angle do the clock hands make?]", 0.1, 0.5),
        T("{schedule_puzzle}", 1.0, 1.1),
        T("{intro}{conditional_puzzle}", 0.5, 0.8),
        T("{intro}{trick_question}", -1.0, 0.3, ("length", "explain_wrong")),
        T("Roughly how many {fermi_thing} are there in {city}? Walk me through an estimate.", 0.3, 1.0, ("verify", "explain_wrong")),
        T("I need to {plan_goal}. In what order should I do it, and what can run in parallel?", 0.2, 1.0,
          ("length", "verify", "exhaustive", "nested")),
    ),
    modifiers=(
        M("nested", 1.0, 1.2, "One more condition: exactly one of the statements above is false.",
          "Also, one of the clues is a lie, but you don't know which.",
          "There's a catch: each rule only applies if the one before it is satisfied."),
        M("length", 0.1, 1.6, "Explain your reasoning step by step.", "Think it through step by step.", "show your reasoning"),
        M("length", 0.1, 0.1, "Answer in one word.", "Just the answer, no explanation.", "short answer only"),
        M("exhaustive", 0.8, 1.4, "Consider every case and show that no other answer is possible.", "Prove the answer is unique.",
          "List all possible solutions, not just one."),
        M("verify", 0.2, 1.2, "Then explain how you'd check the answer.", "Double-check your answer at the end."),
        M("length", 0.4, 1.5, "First list the constraints, then eliminate the options, and finally state the answer.",
          "Start by writing down what we know, then reason it out, then give the answer."),
        M("explain_wrong", 0.3, 1.3, "Also explain why the intuitive answer is wrong.", "Explain why most people get this wrong."),
    ),
    slots={
        "ordering_puzzle": ordering_puzzle, "syllogism": syllogism, "knights_puzzle": knights_puzzle,
        "objects_story": objects_story, "jug_puzzle": jug_puzzle, "sequence": number_sequence,
        "family_puzzle": family_puzzle, "schedule_puzzle": schedule_puzzle, "clock_time": clock_time,
        "riddle": (("A man pushes his car to a hotel and tells the owner he's bankrupt. Why?", 0.2),
                   ("What has keys but can't open locks?", -0.6),
                   ("A woman shoots her husband, holds him under water for five minutes, then hangs him. An hour later they go out to dinner. How?", 0.4),
                   ("The more you take, the more you leave behind. What am I?", -0.3),
                   ("A rope ladder hangs over a ship's side with rungs 30 cm apart. The tide rises 1 m. How many rungs are under water?", 0.3),
                   ("I speak without a mouth and hear without ears. What am I?", -0.4)),
        "argument": (("All birds can fly. Penguins are birds. So penguins can fly.", -0.3),
                     ("If it rains, the street is wet. The street is wet. So it rained.", 0.0),
                     ("Some students are athletes. All athletes are disciplined. So some students are disciplined.", 0.1),
                     ("If the server is down, alerts fire. No alerts fired. So the server is up.", 0.1),
                     ("Most successful founders dropped out of college, so dropping out makes you more likely to succeed.", 0.4),
                     ("Either we cut costs or we raise prices. We won't raise prices. So we must cut costs.", 0.0)),
        "monty": (("On a game show there are 3 doors, one hides a car. I pick door 1, the host (who knows) opens door 3 to show a goat. Should I switch?", 0.0),
                  ("Same as Monty Hall but the host opens a door at random and it happens to show a goat. Should I switch now?", 0.6),
                  ("A family has two children and at least one is a boy born on a Tuesday. What's the probability both are boys?", 0.9),
                  ("I have two envelopes, one has twice the money of the other. I open one and see $100. Should I switch?", 0.7)),
        "machines": lambda rng: str(int(rng.integers(3, 10))),
        "conditional_puzzle": (("If it rains, the match is cancelled unless the roof is closed. The roof is only closed when it's below 10°C. "
                                "Today it's raining and 14°C. Is the match on?", 0.0),
                               ("Alice goes to the party only if Bob goes. Bob goes if Carol doesn't. Carol goes if Dan goes. Dan goes. "
                                "Who goes to the party?", 0.3),
                               ("A light is on if switch A is up or switch B is down, but not both. A is down and B is down. "
                                "If I flip A, is the light on?", 0.2),
                               ("Every employee who works remotely must file a report unless their manager waives it, and managers "
                                "can only waive it for people on their own team. Sam works remotely, is on Lee's team, and Kim waived "
                                "Sam's report. Does Sam have to file?", 0.4)),
        "intro": ("", "", "", "Puzzle: ", "My friend asked me this: ", "Here's a brain teaser. ", "Riddle time! ",
                  "Can you solve this? ", "My kid asked me this and I'm stuck: ", "Interview question: "),
        "trick_question": ("Which weighs more, a kilo of feathers or a kilo of steel?",
                           "If a plane crashes on the border of two countries, where do they bury the survivors?",
                           "How many months have 28 days?", "A farmer has 17 sheep and all but 9 run away. How many are left?",
                           "If you overtake the person in second place, what place are you in?"),
        "fermi_thing": ("piano tuners", "dentists", "coffees sold per day", "dogs", "petrol stations", "hairdressers", "wedding photographers"),
        "plan_goal": (("move house next month while working full time", 0.0), ("launch a small online shop in six weeks", 0.2),
                      ("prepare a conference talk, book travel and get a visa before the deadline", 0.3),
                      ("migrate our database with at most one hour of downtime", 0.6),
                      ("renovate the kitchen and the bathroom with one plumber and one electrician", 0.4)),
    },
    informal_rate=0.2,
)


NO_PEOPLE = ("format", "normalise", "missing", "evidence", "length")  # no "merge the same person" where nobody is named

EXTRACTION = CategoryBank(
    templates=(
        T("Extract all dates and amounts from this email:\n\n{invoice_email}", -0.6, 0.8, NO_PEOPLE),
        T("Pull out the people, their companies and job titles mentioned here:\n{news}", -0.2, 1.0),
        T("From the job posting below, give me the salary range, location and required years of experience.\n\n{job_posting}", -0.5, 0.7, NO_PEOPLE),
        T("Get the order number and tracking number from this:\n{shipping}", -1.0, 0.4, NO_PEOPLE),
        T("List every action item with its owner and deadline from these meeting notes:\n{meeting_notes}", 0.0, 1.2),
        T("Which IP addresses had errors in this log, and how many each?\n{log_lines}", 0.2, 0.9, NO_PEOPLE),
        T("What is the termination notice period in this clause, and what survives termination?\n\n{contract}", 0.3, 0.8, NO_PEOPLE),
        T("extract the product name, price and specs: {product_listing}", -0.6, 0.8, NO_PEOPLE),
        T("Here's a CV. Extract the education and work history as a list.\n\n{cv}", -0.2, 1.2),
        T("Find all email addresses and phone numbers in the text below.\n{contacts}", -0.8, 0.7),
        T("From this support ticket, what's the customer's problem, the product and how urgent it is?\n\n{ticket}", -0.3, 0.7, NO_PEOPLE),
        T("Identify each drug, its dose and frequency in this note: {prescription}", 0.2, 0.9, NO_PEOPLE),
        T("Turn this invite into a calendar entry (title, date, start, end, location): {invite}", -0.5, 0.6, NO_PEOPLE),
        T("I need the sentiment and the main complaint of each review:\n{reviews}", 0.0, 1.3, NO_PEOPLE),
    ),
    modifiers=(
        M("format", 0.3, 1.1, "Return it as JSON.", "Output valid JSON only, nothing else.", "Give me the result as a JSON array of objects."),
        M("format", 0.1, 1.0, "Put it in a markdown table.", "Format it as a table.", "As a bullet list please."),
        M("format", 0.7, 1.2, "Follow this schema exactly: {{\"items\": [{{\"name\": str, \"value\": str | null, \"source_line\": int}}]}}.",
          "Output JSON matching this TypeScript type: {{ entities: {{ name: string; kind: 'person' | 'org' | 'date' | 'amount'; value?: string }}[] }}"),
        M("normalise", 0.5, 1.1, "Normalise all dates to ISO 8601 and all amounts to numbers with a currency code.",
          "Convert every date to YYYY-MM-DD.", "Make the amounts plain numbers in USD, converting if needed."),
        M("missing", 0.3, 1.0, "If a field is missing, put null and don't guess.",
          "Don't make anything up: leave fields empty if they aren't in the text."),
        M("dedupe", 0.6, 1.0, "Merge entries that refer to the same person or company.",
          "Deduplicate: the same person may be mentioned under different names."),
        M("evidence", 0.5, 1.4, "For each item, quote the sentence it came from.", "Cite the exact line for every value you extract."),
        M("length", -0.1, 0.5, "No commentary, just the data.", "just the values pls"),
    ),
    slots={
        "invoice_email": invoice_email, "news": news_paragraph, "job_posting": job_posting, "shipping": shipping_notice,
        "meeting_notes": meeting_notes, "log_lines": log_lines, "contract": contract_clause, "product_listing": product_listing,
        "cv": cv_text, "contacts": contact_blob, "ticket": support_ticket, "prescription": prescription_note,
        "invite": event_invite, "reviews": reviews,
    },
    informal_rate=0.2,
)

SUMMARISATION = CategoryBank(
    templates=(
        T("Summarise this article:\n\n{article}", -0.6),
        T("tl;dr pls\n\n{email_thread}", -0.8, 0.7),
        T("Can you summarise the key points of this meeting transcript?\n{transcript}", -0.3),
        T("Summarise these customer reviews and tell me the main complaints:\n{reviews}", -0.2),
        T("Write an executive summary of this incident report for leadership:\n\n{incident}", 0.1, 1.1),
        T("Give me the gist of this abstract in plain English:\n\n{abstract}", 0.2, 0.9),
        T("Summarise the following chat between support and a customer:\n{chat}", -0.5, 0.7),
        T("What are the main arguments in this opinion piece?\n\n{op_ed}", 0.1),
        T("Condense this policy into a short checklist for new employees:\n{policy}", -0.1, 0.8),
        T("Summarise this for {audience}:\n\n{article}", 0.0),
        T("Compare the two proposals below and summarise the trade-offs.\n\nProposal A: {proposal}\n\nProposal B: {proposal2}", 0.6, 1.3),
        T("Summarise this paper abstract and list its limitations:\n\n{abstract}", 0.5, 1.2),
        T("can u make this shorter, keep the important stuff\n\n{email_thread}", -0.7, 0.7),
        T("What did we decide in this meeting, and what is still open?\n{meeting_notes}", 0.0, 0.9),
    ),
    modifiers=(
        M("length", 0.3, 0.2, "In one sentence.", "One sentence max.", "Give it to me in a single sentence."),
        M("length", 0.1, 0.5, "In 3 bullet points.", "Three bullets, no more.", "Use at most 5 bullet points."),
        M("length", 0.3, 0.35, "Keep it under 50 words.", "Under 80 words please."),
        M("length", 0.2, 2.0, "Write a detailed summary, section by section.", "Be thorough, I need all the details."),
        M("faithful", 0.3, 1.0, "Keep all the numbers exact.", "Don't add anything that isn't in the text.",
          "Only use facts stated in the text."),
        M("followup", 0.4, 1.4, "Then list the open questions and who should answer them.",
          "Then suggest three next steps.", "After that, list any risks you see."),
        M("language", 0.5, 1.0, "Write the summary in {tongue}.", "Answer in {tongue} please."),
        M("tone", 0.3, 1.1, "Capture the tone of each person too.", "Point out where people disagree."),
        M("audience", 0.3, 1.0, "Make it understandable for someone with no background.", "Write it for a non-technical manager."),
    ),
    slots={
        "article": article, "email_thread": email_thread, "transcript": transcript, "reviews": reviews,
        "incident": incident_report, "abstract": abstract, "chat": chat_log, "op_ed": op_ed, "policy": policy_text,
        "proposal": proposal, "meeting_notes": meeting_notes,
        "audience": (("a busy executive", 0.0), ("a 10-year-old", 0.3), ("a newsletter for engineers", 0.1),
                     ("a tweet", 0.3, 0.3), ("my grandmother", 0.2)),
    },
    informal_rate=0.25,
)

WRITING = CategoryBank(
    templates=(
        T("Write a {post_length} blog post about {topic}.", 0.0),
        T("[write a poem about|poem about|can you write me a poem about|I'd love a short poem about] {poem_topic}", -0.6, 0.5),
        T("[Draft an email to|Write an email to|Help me email|Can you write a message to] {recipient} {email_purpose}.", -0.8, 0.5),
        T("Write a cover letter for a {job} position at {company}.", -0.4, 0.9),
        T("Can you write a short story about {story_premise}?", -0.2, 1.2),
        T("Write a product description for our new {product}, aimed at {audience}.", -0.7, 0.4),
        T("[Write a LinkedIn post announcing|Draft a LinkedIn update about|Help me post on LinkedIn about] {announcement}.", -0.8, 0.4),
        T("[Help me write a speech for|Write a short speech for|I have to give a speech at] {occasion}[.|, help!|. Any ideas?]", -0.3, 1.0),
        T("Rewrite this to sound more {tone}:\n\n{paragraph}", -0.5, 0.3),
        T("[Write an essay arguing that|I need an argumentative essay on why|Write a persuasive essay:] {thesis}.", 0.4, 1.5),
        T("[Write a sonnet about|Compose a sonnet on|Write a Shakespearean sonnet about] {poem_topic}.", 0.6, 0.4),
        T("[Come up with 10 names for|Give me some name ideas for|Brainstorm {name_count} names for] {naming_target}.", -1.0, 0.3),
        T("[Write a persuasive op-ed on|Write an opinion piece about|Argue for] {debate_topic} from the point of view of {persona}.", 0.5, 1.2),
        T("Write the opening chapter of a {genre} novel set in {setting}.", 0.3, 2.0),
        T("[haiku about {poem_topic} pls|write a haiku about {poem_topic}|give me 3 haikus about {poem_topic}]", -0.9, 0.1),
        T("Write a wedding toast for my {relation}, who {relation_detail}.", -0.3, 0.8),
    ),
    modifiers=(
        M("style", 0.1, 1.0, "Use British spelling.", "Keep the tone warm but professional.", "Make it funny."),
        M("form", 0.4, 1.0, "Make it rhyme (AABB).", "Every line must rhyme.", "Write it in iambic pentameter."),
        M("form", 2.0, 1.0, "Don't use the letter 'e' anywhere.", "Every sentence must start with the letter S."),
        M("form", 1.0, 1.0, "Make it an acrostic: the first letters of the lines spell {acrostic}."),
        M("voice", 0.3, 1.0, "Write it in the voice of {persona}.", "Make it sound like {persona} wrote it."),
        M("twist", 0.3, 1.1, "Include a twist ending.", "End with an unexpected twist."),
        M("length", 0.2, 0.3, "Keep it under 100 words.", "Short, max 80 words."),
        M("length", 0.2, 0.1, "In one sentence.", "Just one sentence."),
        M("length", 0.2, 1.6, "Make it detailed, with headings and examples.", "Go long and detailed, with sections."),
        M("length", 0.4, 1.6, "First outline it, then write the full draft, and finally suggest three titles."),
        M("cite", 0.8, 1.2, "Cite at least three real studies.", "Back every claim with a real source."),
        M("constraint", 0.5, 1.0, "Weave in the words {word}, {word2} and {word3} naturally.",
          "Mention {company} and {city} somewhere, but subtly."),
        M("audience_fit", 0.2, 1.0, "The readers are non-native English speakers, so keep the language simple.",
          "It's for a teenage audience."),
    ),
    slots={
        "post_length": (("short", -0.2, 0.6), ("500-word", 0.0, 1.3), ("1500-word", 0.8, 3.6), ("2000-word", 1.0, 4.5), ("quick", -0.2, 0.5)),
        "topic": ("working remotely with a newborn", "why we switched from Jira to Linear", "learning to code at 40",
                  "the hidden costs of cheap cloud storage", "the best hikes near {city}", "how to run your first 10k",
                  "what nobody tells you about managing people", "sourdough for beginners", "saving energy at home",
                  "lessons from our failed product launch", "building a habit of reading", "travelling with a dog",
                  "zero-waste grocery shopping", "choosing your first mechanical keyboard"),
        "poem_topic": ("autumn in {city}", "the sea", "a lost umbrella", "my cat ignoring me", "the last day of school", "my first car",
                       "a city at night", "growing old together", "the smell of rain", "a broken phone screen", "moving to {city}",
                       "Monday mornings", "a grandmother's kitchen", "the first snow", "debugging at 3am", "the moon", "leaving home"),
        "recipient": ("my landlord", "my manager", "a client", "the school", "my team", "a supplier", "HR", "a recruiter"),
        "email_purpose": ("asking to fix the heating", "asking for a day off next Friday", "explaining why the project is late",
                          "declining a meeting politely", "following up on an unpaid invoice", "saying our office moves next month",
                          "asking for a raise", "complaining about a late delivery", "introducing myself as the new account manager"),
        "audience": ("busy parents", "students", "small businesses", "gamers", "runners", "remote workers", "retirees"),
        "announcement": ("my new job at {company}", "that we raised a seed round", "our new office in {city}",
                         "that I'm leaving after 8 years", "our first 1,000 customers", "a new open-source release"),
        "occasion": ("my sister's wedding", "a colleague's retirement", "the opening of our new office",
                     "a school graduation", "my dad's 60th birthday", "an award ceremony"),
        "tone": ("professional", "friendly", "confident", "apologetic", "concise", "persuasive"),
        "paragraph": paragraph_to_rewrite,
        "thesis": (("cities should ban cars from their centres", 0.0), ("remote work is here to stay", -0.2),
                   ("social media has done more harm than good", 0.0), ("nuclear power is essential for net zero", 0.2),
                   ("homework should be abolished in primary school", -0.1),
                   ("the Industrial Revolution was the most important event in human history", 0.4)),
        "story_premise": ("a robot who wants to be a gardener", "two strangers stuck in a lift", "a town where it never stops raining",
                          "a detective who can't remember yesterday", "a dragon who is afraid of fire", "the last bookshop on Earth",
                          "a time traveller who keeps arriving one minute late"),
        "name_count": ("5", "10", "15", "20"),
        "naming_target": ("a coffee shop", "a productivity app", "my new puppy", "a fantasy kingdom", "a podcast about history",
                          "a bakery in {city}", "a cybersecurity startup"),
        "debate_topic": ("a four-day work week", "banning phones in schools", "a tax on sugary drinks", "self-driving cars",
                         "universal basic income"),
        "persona": ("a small business owner", "a teacher", "a nurse", "a teenager", "Shakespeare", "a pirate captain",
                    "a grumpy old detective", "a tech CEO"),
        "genre": ("fantasy", "sci-fi", "crime", "romance", "horror", "historical"),
        "setting": ("1920s {city}", "a generation ship", "a remote Scottish island", "a near-future megacity", "a medieval monastery"),
        "relation": ("brother", "best friend", "sister", "cousin", "college roommate"),
        "relation_detail": ("is always late", "loves bad puns", "once got lost in IKEA for three hours", "is a firefighter",
                            "taught me to ride a bike"),
        "acrostic": ("HOPE", "SPRING", "FRIEND", "CODE", "LISBON"),
        "word": ("lantern", "velvet", "orbit", "marmalade", "thunder", "compass", "whisper", "glacier"),
    },
    informal_rate=0.25,
)


RP_GAME = ("persist", "form", "voice", "length", "twist", "lang", "state")
RP_TALK = ("persist", "form", "voice", "length", "twist", "lang")  # no inventory to track in a conversation

ROLEPLAY = CategoryBank(
    templates=(
        T("Pretend you're {character} and {rp_action}.", -0.7, 0.8, mods=RP_TALK),
        T("Let's play a game: you're {character}, I'm {user_role}. {opening_line}", -0.3),
        T("Act as a hiring manager interviewing me for a {job} job. Ask me the first question.", -0.6, 0.4, mods=RP_TALK),
        T("You are {famous_type}. Stay in character and answer this: {rp_question}", -0.5, mods=RP_TALK),
        T("Be my {tongue} conversation partner. We're at {place}. You start.", -0.1, 0.6, mods=RP_TALK),
        T("Roleplay a difficult customer who {complaint} so I can practise handling it.", -0.2, mods=RP_TALK),
        T("Run a text adventure for me set in {setting}. I start in {start_place}.", 0.3, 1.3),
        T("[You're a D&D dungeon master.|Be my DM.|Act as the dungeon master for my group.] Describe the {dnd_place} my party has just entered.", -0.2, 1.2),
        T("pretend ur my {rp_relation} and {rp_casual}", -0.8, 0.6, mods=RP_TALK),
        T("Act as a Socratic tutor teaching me {concept}. Don't give me the answer directly.", 0.4, mods=RP_TALK),
        T("Play {character} and debate me on {debate_topic}.", 0.3, mods=RP_TALK),
        T("Simulate a negotiation where you're {seller_role} and I'm trying to {negotiation_goal}.", 0.2, mods=RP_TALK),
        T("Continue this scene as {character}: \"{scene_line}\"", 0.0, mods=RP_TALK),
        T("You're [a medieval innkeeper|a tavern keeper|the barkeep] in {setting}. A stranger walks in, "
          "[soaking wet|covered in soot|limping|carrying a locked chest]. Go.", -0.4),
    ),
    modifiers=(
        M("persist", 0.2, 1.0, "Stay in character no matter what.", "Never break character, even if I ask."),
        M("form", 0.8, 1.0, "Speak only in rhyming couplets.", "Every reply has to be a haiku."),
        M("voice", 0.6, 1.1, "Use period-accurate language.", "Talk with a thick Yorkshire accent, written out."),
        M("state", 0.7, 1.2, "Keep track of my inventory and hit points as we go.", "Track my gold and reputation after every turn."),
        M("length", 0.1, 0.3, "Keep each reply under 3 sentences.", "short replies pls"),
        M("length", 0.1, 1.6, "Give me detailed, vivid descriptions.", "Be really descriptive."),
        M("twist", 0.6, 1.1, "Throw in a plot twist after a few turns, and keep the secret consistent.",
          "Have a hidden motive that you reveal only if I ask the right question."),
        M("lang", 0.5, 1.0, "Reply in {tongue} only.", "Mix in some {tongue} phrases."),
    ),
    slots={
        "character": ("a grumpy pirate captain", "Sherlock Holmes", "a 1920s jazz singer", "a wise old wizard",
                      "a sarcastic robot butler", "a Victorian ghost", "a burnt-out startup founder", "a medieval knight",
                      "a noir detective", "an alien visiting Earth for the first time", "a cheerful kindergarten teacher"),
        "rp_action": ("tell me about your day", "explain why I should hire you", "describe your ship", "give me life advice",
                      "convince me to join your quest", "complain about the weather", "recommend a book"),
        "user_role": ("a lost traveller", "a new recruit", "a customer", "a journalist", "your apprentice", "a rival"),
        "opening_line": ("I walk into the tavern and sit at your table.", "\"Excuse me, is this the way to the castle?\"",
                         "I hand you a mysterious letter.", "*knocks on the door*", "So, what's the job?"),
        "famous_type": ("a Roman senator", "Marie Curie", "a Viking explorer", "a 1950s radio host", "Leonardo da Vinci",
                        "a Mars colonist in 2150"),
        "rp_question": ("what do you think of smartphones?", "what's your greatest regret?", "how do you spend a Sunday?",
                        "what advice would you give a young person today?", "what scares you?"),
        "place": ("a café", "a train station", "a market", "a job interview", "a doctor's appointment", "a hotel reception"),
        "complaint": ("got the wrong order twice", "wants a refund without a receipt", "has been on hold for an hour",
                      "thinks they were overcharged", "is furious the flight was cancelled"),
        "setting": ("a haunted lighthouse", "a cyberpunk Tokyo", "ancient Rome", "a space station", "a cursed forest",
                    "a pirate island", "Victorian London"),
        "start_place": ("a locked cellar", "the captain's quarters", "a crowded market", "an abandoned lab", "a burning tavern"),
        "dnd_place": ("ancient crypt", "goblin market", "flooded temple", "dragon's lair", "wizard's tower"),
        "rp_relation": ("bestie", "big sister", "coach", "grandma", "therapist", "gym buddy"),
        "rp_casual": ("hype me up before my exam", "tell me it's ok to skip the gym today", "help me decide what to wear",
                      "cheer me up, bad day", "give me a pep talk for my interview"),
        "concept": (("fractions", -0.2), ("why the sky is blue", 0.0), ("recursion", 0.2), ("supply and demand", 0.0),
                    ("Bayes' theorem", 0.5), ("the causes of World War I", 0.3), ("Gödel's incompleteness theorem", 1.0)),
        "debate_topic": ("pineapple on pizza", "whether AI will take our jobs", "cats vs dogs", "space exploration funding",
                         "a four-day work week"),
        "seller_role": ("a used-car salesman", "a landlord", "a market trader", "a recruiter", "a software vendor"),
        "negotiation_goal": ("get a lower price", "get a higher salary", "get out of a contract early", "get free delivery"),
        "scene_line": ("The door creaked open, and there you were, holding the map.", "You're late. The ship left an hour ago.",
                       "I thought you said this place was abandoned.", "Put the sword down. We can talk about this."),
    },
    informal_rate=0.4,
)

CHIT_CHAT = CategoryBank(
    templates=(
        T("{greeting} how's {your_thing} going?", -1.5, 0.8),
        T("[what's your favourite|do you have a favourite|fav] {fav_thing}?", -1.3),
        T("[i'm bored, any ideas for|so bored. what can i do on|give me something fun to do for] {bored_time}?", -1.2, 1.2),
        T("[tell me a joke about|got any jokes about|make me laugh with a joke about|i need a {joke_style} joke about] {joke_topic}", -1.0, 0.8),
        T("do you think {casual_opinion}?", -0.8, 1.2),
        T("[ugh,|well,|great, I|welp, I] {bad_day_event} today.{feeling}", -1.0),
        T("[what should I cook tonight? i have|dinner ideas? i've got|what can I make with] {ingredients}", -0.8, 1.6),
        T("recommend me a {media} like {example_media}", -0.7, 1.2),
        T("{greeting} any tips to {self_improve}?", -1.0, 1.5),
        T("what's the weirdest {weird_thing} you know lol", -1.1),
        T("can you help me think of a gift for my {gift_relation} who likes {hobby}?", -0.9, 1.4),
        T("is it weird that I {quirk}?", -1.2),
        T("[just {good_news}!! 🎉|guess what, I {good_news}!|I {good_news} today!!!]", -1.4, 0.7),
        T("[what would you do with|if you had|imagine you got] {windfall}[?|, what then?| - what would you do first?]", -1.1),
        T("[are you smarter than|are u smarter than|who's smarter, you or] {comparison}?", -1.0, 0.8),
        T("[i can't sleep.|cant sleep...|it's 3am and i'm wide awake.] talk to me about {calm_topic}", -1.1, 1.5),
        T("{greeting} do you dream?", -1.2, 0.8),
        T("[rate my weekend plan:|thoughts on my weekend plan?|is this a good weekend:] {weekend_plan}", -1.0),
    ),
    modifiers=(
        M("voice", 0.3, 1.0, "answer like a pirate", "say it like a sports commentator", "in Gen Z slang pls"),
        M("length", 0.0, 0.5, "keep it short", "one line answer", "tl;dr version"),
        M("length", 0.2, 1.5, "and explain why", "and tell me your reasoning"),
        M("honest", 0.1, 1.0, "be honest, no sugarcoating", "don't just agree with me"),
        M("form", 0.6, 1.0, "make it a limerick", "answer in a haiku"),
    ),
    slots={
        "greeting": ("hi!", "hey", "hello", "yo", "good morning!", "hey there,", "heyy", "evening!", "sup", "hi again"),
        "your_thing": ("it", "your day", "life", "your week", "everything", "the AI life"),
        "fav_thing": ("colour", "book", "movie", "season", "food", "animal", "word", "song", "city", "board game", "planet"),
        "bored_time": ("a rainy afternoon", "tonight", "the weekend", "a long train ride", "a lazy sunday", "my lunch break"),
        "joke_style": ("dad", "dark", "nerdy", "clean", "terrible"),
        "joke_topic": ("programmers", "cats", "accountants", "the weather", "Mondays", "coffee", "dentists", "my job in IT",
                       "physicists", "penguins"),
        "casual_opinion": ("pineapple belongs on pizza", "cats are better than dogs", "it's ok to wear socks with sandals",
                           "breakfast is the most important meal", "summer is overrated", "aliens exist",
                           "tea is better than coffee", "people should make their bed every morning"),
        "bad_day_event": ("missed my bus", "spilled coffee on my laptop", "got yelled at by my boss", "got rained on", "failed my driving test",
                          "broke prod", "forgot my keys", "had my flight delayed"),
        "feeling": ("", " so annoyed", " cheer me up?", " why is life like this", " need a hug", " what a day", " 🙃"),
        "ingredients": ("eggs, spinach and some cheese", "rice, chickpeas and a tin of tomatoes", "pasta and half a courgette",
                        "chicken thighs and potatoes", "tofu and some leftover veg", "just noodles tbh"),
        "media": ("book", "movie", "podcast", "tv show", "video game", "album", "anime"),
        "example_media": ("Dune", "The Office", "Stardew Valley", "Interstellar", "Harry Potter", "Breaking Bad", "Spirited Away",
                          "Serial", "Fleabag", "The Martian"),
        "self_improve": ("wake up earlier", "drink more water", "stop procrastinating", "read more", "make friends in a new city",
                         "be less stressed at work", "stick to the gym"),
        "weird_thing": ("fact", "animal", "law", "word", "food combo", "place on earth"),
        "gift_relation": ("mum", "dad", "boyfriend", "girlfriend", "boss", "brother", "best friend", "grandpa"),
        "hobby": ("gardening", "hiking", "video games", "baking", "jazz", "photography", "running", "chess", "knitting"),
        "quirk": ("eat cereal with orange juice", "talk to my plants", "sleep with socks on", "name my houseplants",
                  "reread the same book every year", "enjoy doing taxes"),
        "good_news": ("got the job", "passed my exams", "adopted a kitten", "ran my first marathon", "got engaged",
                      "finished my thesis", "bought my first house"),
        "windfall": ("a million dollars", "a free year off", "a time machine", "the ability to fly", "a private island"),
        "comparison": ("a cat", "my professor", "siri", "a calculator", "me"),
        "calm_topic": ("the ocean", "space", "forests", "your favourite place", "cozy things", "the stars"),
        "weekend_plan": ("sleep till noon then pizza", "hike saturday, movies sunday", "finally clean my flat",
                         "a road trip to {city}", "nothing at all and I'm proud of it"),
    },
    informal_rate=0.7,
)

STEM = CategoryBank(
    templates=(
        T("[What is {stem_concept}?|Can you explain {stem_concept}?|What exactly is {stem_concept}?|Tell me about {stem_concept}.]", -0.8, 0.8),
        T("[Explain how|How does|Can you explain how] {mechanism} [works.|work?|works?]", -0.4),
        T("Why {why_question}?", -0.6, 0.8),
        T("What's the difference between {stem_pair}?", -0.5, 0.9),
        T("Explain {stem_concept} like I'm five.", -0.6, 0.6),
        T("{relation_question}", 0.5, 1.2),
        T("Derive {derivation}.", 1.2, 1.4),
        T("[What are the big open problems in|What are the unsolved questions in|Where is the frontier in] {field} right now?", 0.8, 1.3),
        T("[Is it true that|Someone told me|Myth or fact:] {myth}[?|. True?]", -0.7, 0.6),
        T("[Walk me through|Explain|Describe] {process}[.| step by step.]", 0.0, 1.2),
        T("[What would happen to {system} if|How would {system} change if] {hypothetical}?", 0.6, 1.1),
        T("[What's the evidence for|How do we know about|Why do scientists believe in] {claim}?", 0.3, 1.1),
        T("What does a {profession} mean by '{jargon}'?", 0.0, 0.6),
        T("[how do {everyday_tech} actually work|how do {everyday_tech} work?|what makes {everyday_tech} work]", -0.5),
    ),
    modifiers=(
        M("equations", 0.5, 1.3, "Include the relevant equations.", "Use the maths, not just words.", "Show the key formulas."),
        M("cite", 0.6, 1.2, "Cite primary sources.", "Give references I can check."),
        M("level", 0.7, 1.3, "Explain it at graduate level.", "Assume I have a physics degree.", "Go as deep as a textbook would."),
        M("level", 0.2, 0.9, "Explain it for a 10-year-old.", "No jargon please."),
        M("length", 0.1, 0.3, "In 3 sentences.", "Briefly.", "Keep it short."),
        M("length", 0.2, 1.8, "Be detailed and cover the history too.", "Give me a detailed explanation."),
        M("example", 0.5, 1.4, "Then give a worked numerical example.", "Include a worked example with numbers."),
        M("misconceptions", 0.2, 1.2, "Also mention common misconceptions.", "What do people usually get wrong about it?"),
        M("compare", 0.5, 1.3, "Then compare it with a closely related idea.", "Contrast it with how it was understood 100 years ago."),
    ),
    slots={
        "stem_concept": (("photosynthesis", -0.3), ("the Doppler effect", 0.0), ("entropy", 0.3), ("quantum entanglement", 0.5),
                         ("the renormalisation group", 1.2), ("CRISPR", 0.1), ("a Fourier transform", 0.3), ("a p-value", 0.0),
                         ("Hawking radiation", 0.7), ("gauge symmetry", 1.0), ("the Krebs cycle", 0.3), ("plate tectonics", -0.2),
                         ("osmosis", -0.3), ("special relativity", 0.4), ("an eigenvector", 0.3), ("natural selection", -0.2),
                         ("the Higgs mechanism", 0.9), ("epigenetics", 0.4), ("superconductivity", 0.6), ("a black hole", 0.0),
                         ("the central limit theorem", 0.4), ("oxidation", -0.2)),
        "relation_question": (("How is entropy in thermodynamics related to entropy in information theory?", 0.4),
                              ("Why does GPS need both special and general relativity?", 0.3),
                              ("How does the Krebs cycle connect to the electron transport chain?", 0.2),
                              ("What's the link between eigenvalues and the stability of a dynamical system?", 0.5),
                              ("How does plate tectonics explain where earthquakes and volcanoes happen?", -0.3),
                              ("How are the Fourier transform and the uncertainty principle connected?", 0.6),
                              ("How does CRISPR relate to the way bacteria fight viruses?", 0.0),
                              ("What does the central limit theorem have to do with p-values?", 0.3)),
        "mechanism": (("a vaccine", -0.2), ("a transistor", 0.2), ("GPS positioning", 0.2), ("a heat pump", 0.0),
                      ("mRNA translation", 0.4), ("a nuclear reactor", 0.3), ("a lithium-ion battery", 0.2),
                      ("public-key cryptography", 0.4), ("an MRI scanner", 0.5), ("the immune system", 0.2),
                      ("a jet engine", 0.1), ("noise-cancelling headphones", 0.0)),
        "why_question": (("is the sky blue", -0.3), ("does ice float", -0.2), ("do we have seasons", -0.2),
                         ("do stars twinkle", 0.0), ("is the ocean salty", -0.1), ("does time slow down near a black hole", 0.6),
                         ("can't anything go faster than light", 0.5), ("do onions make you cry", -0.2),
                         ("is glass transparent", 0.4), ("does metal feel colder than wood", 0.0)),
        "stem_pair": (("mitosis and meiosis", 0.0), ("a virus and a bacterium", -0.2), ("weather and climate", -0.3),
                      ("speed and velocity", -0.3), ("DNA and RNA", 0.0), ("fission and fusion", 0.0),
                      ("an element and a compound", -0.3), ("correlation and causation", 0.0),
                      ("bosons and fermions", 0.6), ("type 1 and type 2 diabetes", 0.0), ("AC and DC", -0.2)),
        "derivation": (("the ideal gas law from kinetic theory", 0.2), ("the Schwarzschild radius", 0.4),
                       ("the period of a simple pendulum", -0.2), ("Bernoulli's equation", 0.2), ("the wave equation from Maxwell's equations", 0.6),
                       ("the escape velocity of Earth", -0.3), ("the Boltzmann distribution", 0.6), ("E = mc² from special relativity", 0.5)),
        "field": (("neuroscience", 0.0), ("quantum computing", 0.2), ("materials science", 0.1), ("cosmology", 0.1),
                  ("protein design", 0.2), ("climate modelling", 0.0), ("number theory", 0.4)),
        "myth": ("we only use 10% of our brains", "lightning never strikes the same place twice", "goldfish have a 3-second memory",
                 "the Great Wall of China is visible from space", "bats are blind", "sugar makes kids hyperactive",
                 "cracking your knuckles causes arthritis", "humans have five senses"),
        "process": (("the water cycle", -0.4), ("the Krebs cycle", 0.3), ("how a star forms", 0.1), ("the carbon cycle", -0.1),
                    ("how a bill of materials becomes a chip", 0.5), ("protein folding", 0.5), ("how a vaccine is approved", 0.0),
                    ("how the Haber process works", 0.2)),
        "system": ("the Earth's climate", "the oceans", "the human body", "the Moon's orbit", "the global food supply", "the internet"),
        "hypothetical": ("the Moon disappeared", "CO₂ levels doubled", "the Earth stopped spinning", "all bees went extinct",
                         "the speed of light were 100 km/h", "gravity were 10% stronger"),
        "claim": (("dark matter", 0.3), ("the Big Bang", 0.0), ("evolution by natural selection", -0.2), ("plate tectonics", -0.1),
                  ("human-caused climate change", 0.0), ("the expansion of the universe accelerating", 0.4)),
        "profession": ("cardiologist", "chemist", "statistician", "structural engineer", "geologist", "pharmacist"),
        "jargon": ("ejection fraction", "chirality", "heteroskedasticity", "moment of inertia", "half-life", "bioavailability",
                   "shear stress", "confidence interval"),
        "everyday_tech": ("microwaves", "touchscreens", "fridges", "wifi routers", "induction hobs", "solar panels", "QR codes"),
    },
    informal_rate=0.25,
)


ENGLISH_SENTENCES = ("The meeting has been moved to Thursday afternoon.", "Please leave your shoes at the door.",
                     "Our shop will be closed on public holidays.", "Could you send me the invoice by the end of the week?",
                     "The train to the airport leaves every fifteen minutes.", "I'm allergic to nuts, does this dish contain any?",
                     "Thank you for your patience while we fix the problem.", "The museum is free on the first Sunday of the month.",
                     "We're looking forward to working with you.", "Your package will arrive within three business days.",
                     "Where is the nearest pharmacy?", "The children are playing in the garden.",
                     "Keep this medicine out of the reach of children.", "I didn't understand the last part, could you repeat it?",
                     "The deadline for applications is March 31st.")
FOREIGN_SENTENCES = (("French", "Nous avons bien reçu votre commande et elle sera expédiée demain."),
                     ("Spanish", "¿Podrías decirme a qué hora abre la farmacia mañana?"),
                     ("German", "Leider müssen wir das Treffen auf nächste Woche verschieben."),
                     ("Italian", "Il ristorante è chiuso il lunedì, ma puoi prenotare per martedì."),
                     ("Portuguese", "Obrigado pela sua mensagem, respondemos o mais rápido possível."),
                     ("Dutch", "De trein naar Utrecht heeft twintig minuten vertraging."),
                     ("Spanish", "No te preocupes, ya lo arreglamos y funciona de nuevo."),
                     ("French", "Je ne suis pas sûr d'avoir compris la dernière partie de votre e-mail."))


def english_text(rng) -> str:
    return " ".join(pick_k(rng, ENGLISH_SENTENCES, int(rng.integers(1, 4))))


def foreign_request(rng) -> SlotValue:
    language, sentence = pick(rng, FOREIGN_SENTENCES)
    return SlotValue(f"from {language} to English: \"{sentence}\"")


def ui_strings(rng) -> str:
    strings = ("\"welcome\": \"Welcome back, {name}!\"", "\"cart_items\": \"You have {count} items in your cart\"",
               "\"logout\": \"Log out\"", "\"save_error\": \"We couldn't save your changes. Try again?\"",
               "\"trial_ends\": \"Your trial ends in {days} days\"", "\"delete_confirm\": \"Delete {file}? This can't be undone.\"",
               "\"settings\": \"Settings\"", "\"upload_done\": \"Upload complete\"")
    return "```json\n{\n  " + ",\n  ".join(pick_k(rng, strings, int(rng.integers(3, 7)))) + "\n}\n```"


DISCHARGE_MEDICINES = ("amoxicillin 500 mg three times a day for 5 days", "paracetamol 1 g up to four times a day",
                       "the inhaler twice daily")


def medical_note(rng) -> str:
    return (f"The patient was admitted on {date_text(rng)} with {pick(rng, ('pneumonia', 'a fractured wrist', 'dehydration', 'chest pain'))}. "
            f"She responded well to treatment and can go home today. Take {pick(rng, DISCHARGE_MEDICINES)}. "
            f"Come back immediately if you have {pick(rng, ('a fever above 38.5 °C', 'trouble breathing', 'severe pain'))}. "
            f"A follow-up appointment is booked for {date_text(rng)}.")


def tech_paragraph(rng) -> str:
    return pick(rng, (
        "To reset the device, hold the power button for ten seconds until the LED blinks twice, then release it and wait for the reboot.",
        "The API returns a 429 status code when the rate limit is exceeded; clients should retry with exponential backoff.",
        "Before installing the update, back up your data and make sure the battery is at least 50% charged.",
        "Each node replicates its log to a majority of peers before acknowledging a write, which guarantees durability if one node fails.",
        "The filter cartridge should be replaced every three months or when the indicator turns red.",
    ))


TRANSLATION = CategoryBank(
    templates=(
        T("Translate to {tongue}: {english}", -1.0),
        T("[How do you say|What's the word for|how to say] \"{short_phrase}\" in {tongue}?", -1.3, 1.0, ("register", "explain", "alternatives")),
        T("Can you translate this email into {tongue}?\n\n{email_body}", -0.4),
        T("[translate this|Please translate|Can you translate this] {foreign}", -0.9),
        T("Translate this product description into {tongue}, keeping the marketing tone:\n\n{product_listing}", 0.0),
        T("What does \"{idiom}\" mean, and how would you say it in {tongue}?", 0.2, 3.0),
        T("Translate these UI strings into {tongue}. Keep the placeholders like {{name}} untouched.\n{ui_strings}", 0.3),
        T("Please translate the following contract clause into {tongue}:\n\n{contract}", 0.7),
        T("Translate this poem into {tongue} and keep the rhyme:\n\n{poem}", 1.2),
        T("Localise this slogan for the {tongue}-speaking market: \"{slogan}\"", 0.4, 4.0),
        T("translate into {tongue} pls: {chat_line}", -1.2),
        T("Translate this hospital discharge note into {tongue} for the patient's family:\n\n{medical_note}", 0.6),
        T("[Give me the {tongue} for these words:|{tongue} translations please:|How do you say these in {tongue}?] {word_list}", -1.0),
        T("Translate this technical paragraph into {tongue}:\n\n{tech_paragraph}", 0.3),
    ),
    modifiers=(
        M("register", 0.1, 1.0, "Keep it formal.", "Use a formal register."),
        M("register", 0.2, 1.0, "Use an informal register, like talking to a friend.", "Make it casual."),
        M("explain", 0.3, 1.6, "Explain any words that don't translate directly.", "Add a short note on tricky words."),
        M("alternatives", 0.4, 2.0, "Give two alternative translations and say which is more natural.",
          "Give me a literal and a natural version."),
        M("format", 0.2, 1.0, "Keep the formatting exactly as it is.", "Don't change the line breaks or punctuation."),
        M("style", 0.3, 1.0, "Make it sound natural, not like a literal translation.", "It should read as if written by a native speaker."),
        M("back", 0.4, 1.8, "Then translate it back to English so I can check it.", "Also give a back-translation."),
    ),
    slots={
        "english": english_text,
        "short_phrase": ("good luck", "see you tomorrow", "where is the toilet", "I love you", "cheers", "excuse me",
                         "how much does this cost", "nice to meet you", "happy birthday", "I'm lost"),
        "email_body": lambda rng: f"Dear {pick(rng, FIRST_NAMES)},\n\n{english_text(rng)} {pick(rng, EMAIL_SENTENCES)}\n\nKind regards,\n{person(rng)}",
        "foreign": foreign_request,
        "product_listing": product_listing,
        "idiom": (("break a leg", 0.0), ("it's raining cats and dogs", 0.0), ("bite the bullet", 0.1),
                  ("the ball is in your court", 0.1), ("once in a blue moon", 0.1), ("to have a chip on your shoulder", 0.3),
                  ("that's not my cup of tea", 0.0), ("to bark up the wrong tree", 0.2)),
        "ui_strings": ui_strings,
        "contract": contract_clause,
        "poem": ("The rain is soft upon the hill,\nThe evening light is growing still;\nI walk the road I used to know,\nAnd find the house, but not the glow.",
                 "Small boat, wide sea,\nwind that will not wait for me.\nIf I come home, or never do,\nthe tide will keep a light for you.",
                 "Coffee cold and code unsaved,\nthe bug I hunted, misbehaved;\nat three a.m. the tests turn green,\nthe sweetest sight I've ever seen."),
        "slogan": ("Think outside the box.", "Fresh every morning.", "Your money, your rules.", "Built to last.", "Taste the summer.",
                   "Less waiting, more living."),
        "chat_line": ("running 10 min late, sorry!!", "can we meet at the station instead?", "happy new year to you and your family",
                      "thanks so much for dinner yesterday", "did you get my message?", "congrats on the new job!!"),
        "medical_note": medical_note,
        "word_list": lambda rng: ", ".join(pick_k(rng, ("apple", "train", "window", "friendship", "receipt", "mountain",
                                                         "spoon", "library", "tomorrow", "invoice", "umbrella", "nurse"), int(rng.integers(3, 8)))),
        "tech_paragraph": tech_paragraph,
    },
    informal_rate=0.25,
)

BANKS: dict[str, CategoryBank] = {
    "coding": CODING, "maths": MATHS, "reasoning": REASONING, "extraction": EXTRACTION, "summarisation": SUMMARISATION,
    "writing": WRITING, "roleplay": ROLEPLAY, "chit-chat": CHIT_CHAT, "stem-knowledge": STEM, "translation": TRANSLATION,
}


# ---------------------------------------------------------------------------------------------------------------
# Composing one query: template + slots + modifiers + the way people actually type
# ---------------------------------------------------------------------------------------------------------------

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


GREETINGS = ("Hi, ", "Hey, ", "Hello! ", "Quick question: ", "Can you help? ", "Hi there. ", "Morning! ", "Hey! ")
SIGN_OFFS = (" Thanks!", " Thank you.", " thx", " Cheers.", " Thanks in advance.", " ty")
CASUAL_WORDS = {"please": "pls", "Please": "pls", "you": "u", "thanks": "thx", "because": "bc", "probably": "prob"}
GREETING_RATE, SIGN_OFF_RATE, TYPO_RATE = 0.15, 0.1, 0.12


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
    if rng.random() < GREETING_RATE:
        greeting = pick(rng, GREETINGS)
        line = greeting + (line[:1].lower() + line[1:] if greeting.endswith(", ") else line)
    if rng.random() < informal_rate:
        has_code = "`" in line or "{" in line
        line = line.lower() if (rng.random() < 0.6 and not has_code) else line[:1].lower() + line[1:]
        if rng.random() < 0.4:
            line = " ".join(CASUAL_WORDS.get(w, w) for w in line.split(" "))
        if line.endswith(".") and rng.random() < 0.7:
            line = line[:-1]
    if rng.random() < TYPO_RATE:
        line = add_typo(rng, line)
    if rng.random() < SIGN_OFF_RATE and not line.endswith(":"):
        sign_off = pick(rng, SIGN_OFFS)
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


ALTERNATIVES = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")


def resolve_alternatives(rng, text: str) -> str:
    """`[Write|Can you write|I need]` in a template: one wording, drawn at random (same meaning, same difficulty)."""
    return ALTERNATIVES.sub(lambda match: pick(rng, match.group(1).split("|")), text)


def compose_query(rng, category: str) -> Query:
    bank = BANKS[category]
    template = pick(rng, bank.templates)
    filler = SlotFiller(rng, {**SHARED_SLOTS, **bank.slots})
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


# ---------------------------------------------------------------------------------------------------------------
# Labels: quality, tokens and cost per (query, model)
# ---------------------------------------------------------------------------------------------------------------

def expected_output_tokens(query: Query) -> float:
    """The answer length a model of verbosity 1 would give, before noise."""
    base = CATEGORY_OUTPUT_TOKENS[query.category]
    if query.category == "translation":
        base = TRANSLATION_OUTPUT_RATIO * (count_input_tokens(query.text) - SYSTEM_PROMPT_TOKENS)
    return base * query.length_factor


def draw_output_tokens(rng, queries: list[Query], models: Sequence[str]) -> np.ndarray:
    """(Q, M) whole tokens: expected length × model verbosity × lognormal noise (shared per query + per answer)."""
    expected = np.array([expected_output_tokens(q) for q in queries])[:, None]
    verbosity = np.array([VERBOSITY[m] for m in models])[None, :]
    noise = rng.normal(0, SHARED_LENGTH_SD, (len(queries), 1)) + rng.normal(0, ANSWER_LENGTH_SD, (len(queries), len(models)))
    return np.clip(np.rint(expected * verbosity * np.exp(noise)), MIN_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS).astype(int)


def draw_quality(rng, queries: list[Query], models: Sequence[str]) -> np.ndarray:
    """(Q, M) quality = sigmoid(skill[model, category] − difficulty(query) + query noise + answer noise)."""
    column = {m: j for j, m in enumerate(MODELS)}
    skill = np.array([[SKILL[q.category][column[m]] for m in models] for q in queries])
    difficulty = np.array([q.difficulty for q in queries])[:, None]
    noise = rng.normal(0, QUERY_NOISE_SD, (len(queries), 1)) + rng.normal(0, ANSWER_NOISE_SD, (len(queries), len(models)))
    return sigmoid(skill - difficulty + noise)


def labelled_frame(queries: list[Query], rng, catalog: Catalog = CATALOG, with_metadata: bool = False) -> pd.DataFrame:
    """Long format, one row per (query, model), models in catalog order (the catalog's names must be in SKILL's MODELS).

    with_metadata adds the hidden columns difficulty, modifier_difficulty and n_modifiers (not written to the CSV).
    """
    models = catalog.names
    n_q, n_m = len(queries), len(models)
    quality = draw_quality(rng, queries, models)
    output_tokens = draw_output_tokens(rng, queries, models)
    input_tokens = np.array([count_input_tokens(q.text) for q in queries])
    cost = catalog.cost_matrix(input_tokens, output_tokens)
    frame = pd.DataFrame({
        "query_id": np.repeat([f"q{i + 1:05d}" for i in range(n_q)], n_m),
        "query": np.repeat([q.text for q in queries], n_m),
        "category": np.repeat([q.category for q in queries], n_m),
        "model": np.tile(models, n_q),
        "quality": np.round(quality.ravel(), 3),
        "input_tokens": np.repeat(input_tokens, n_m),
        "output_tokens": output_tokens.ravel(),
        "cost_usd": np.round(cost.ravel(), 8),
    })
    if with_metadata:
        frame["difficulty"] = np.repeat([q.difficulty for q in queries], n_m)
        frame["modifier_difficulty"] = np.repeat([q.modifier_difficulty for q in queries], n_m)
        frame["n_modifiers"] = np.repeat([q.n_modifiers for q in queries], n_m)
    return frame


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent streams, so e.g. changing the log's length does not change the labelled set."""
    queries, labels, log = np.random.SeedSequence(seed).spawn(3)
    return {"queries": np.random.default_rng(queries), "labels": np.random.default_rng(labels), "log": np.random.default_rng(log)}


def labelled_with_metadata(seed: int = DEFAULT_SEED, n_queries: int = 3000) -> pd.DataFrame:
    """The labelled set `generate` writes, plus the hidden difficulty columns (difficulty, modifier_difficulty,
    n_modifiers) for tests and for anyone checking that the generator does what the README says."""
    streams = random_streams(seed)
    return labelled_frame(generate_queries(streams["queries"], n_queries), streams["labels"], with_metadata=True)


# ---------------------------------------------------------------------------------------------------------------
# The request log: two weeks of a naive setup that sends everything to gpt-4o
# ---------------------------------------------------------------------------------------------------------------

LOG_START = datetime(2026, 10, 5, tzinfo=timezone.utc)  # a Monday
LOG_MODEL = "gpt-4o"
REQUESTS_PER_WEEKDAY = 520   # × (5 weekdays + 2 × 0.4 weekend days) × 2 weeks ≈ 6,000 requests
WEEKEND_FACTOR = 0.4
# Relative traffic per hour of day (local time = UTC): busy 09–18, a lunch dip, quiet at night.
HOURLY_PROFILE = (0.15, 0.10, 0.08, 0.07, 0.07, 0.10, 0.20, 0.40, 0.75, 1.00, 1.10, 1.10,
                  0.90, 1.00, 1.10, 1.10, 1.00, 0.90, 0.70, 0.55, 0.50, 0.45, 0.35, 0.25)
REPEAT_RATE = 0.15            # share of requests that re-send one of a few popular prompts verbatim
POPULAR_PROMPTS_PER_CATEGORY = 6

# What people ask when: work tasks in business hours, leisure in the evening; the night is a mix.
CATEGORY_MIX = {
    "business": {"coding": 0.24, "maths": 0.05, "reasoning": 0.06, "extraction": 0.18, "summarisation": 0.16,
                 "writing": 0.10, "roleplay": 0.01, "chit-chat": 0.03, "stem-knowledge": 0.08, "translation": 0.09},
    "evening": {"coding": 0.08, "maths": 0.06, "reasoning": 0.06, "extraction": 0.04, "summarisation": 0.06,
                "writing": 0.18, "roleplay": 0.16, "chit-chat": 0.22, "stem-knowledge": 0.08, "translation": 0.06},
    "night": {"coding": 0.14, "maths": 0.06, "reasoning": 0.07, "extraction": 0.06, "summarisation": 0.07,
              "writing": 0.14, "roleplay": 0.14, "chit-chat": 0.18, "stem-knowledge": 0.08, "translation": 0.06},
}
TEAMS = ("platform", "support", "data-science", "marketing", "sales", "legal", "product")
N_USERS = 48
# Latency of one gpt-4o call: time to first token + time per output token (lognormal), slower in busy hours.
FIRST_TOKEN_MS, MS_PER_TOKEN, BUSY_SLOWDOWN = 450.0, 12.0, 1.15


def hour_mix(hour: int, weekend: bool) -> np.ndarray:
    """Category probabilities for one hour of the day, in CATEGORIES order."""
    period = "business" if 8 <= hour < 18 else "evening" if 18 <= hour < 24 else "night"
    mix = np.array([CATEGORY_MIX[period][c] for c in CATEGORIES])
    if weekend:  # weekends lean to leisure all day
        mix = 0.5 * mix + 0.5 * np.array([CATEGORY_MIX["evening"][c] for c in CATEGORIES])
    return mix / mix.sum()


def make_users(rng) -> tuple[list[str], list[str], np.ndarray]:
    """Users (first.last), their teams, and how active each is (a few heavy users, a long tail)."""
    users, teams = [], []
    while len(users) < N_USERS:
        name = f"{pick(rng, FIRST_NAMES)}.{pick(rng, LAST_NAMES)}".lower().replace("'", "")
        if name not in users:
            users.append(name)
            teams.append(pick(rng, TEAMS))
    activity = 1.0 / np.arange(1, N_USERS + 1) ** 0.8
    return users, teams, activity / activity.sum()


def fresh_query(rng, category: str, avoid: set[str]) -> Query:
    """A new query of this category whose text is not in `avoid` (the labelled set: the log must hold new prompts)."""
    query = compose_query(rng, category)
    for _ in range(20):
        if query.text not in avoid:
            break
        query = compose_query(rng, category)
    return query


LOG_COLUMNS = ["timestamp", "prompt", "model", "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "user", "team"]


def logged_call(rng, query: Query, busy: bool) -> dict:
    """What the naive setup logged for one call to LOG_MODEL: tokens, cost and latency."""
    length_noise = np.exp(rng.normal(0, math.hypot(SHARED_LENGTH_SD, ANSWER_LENGTH_SD)))
    completion = int(np.clip(np.rint(expected_output_tokens(query) * VERBOSITY[LOG_MODEL] * length_noise),
                             MIN_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS))
    prompt_tokens = count_input_tokens(query.text)
    latency = (FIRST_TOKEN_MS * math.exp(rng.normal(0, 0.35))
               + completion * MS_PER_TOKEN * math.exp(rng.normal(0, 0.15))) * (BUSY_SLOWDOWN if busy else 1.0)
    return {"prompt": query.text, "model": LOG_MODEL, "prompt_tokens": prompt_tokens, "completion_tokens": completion,
            "cost_usd": round(float(CATALOG[LOG_MODEL].cost_usd(prompt_tokens, completion)), 8),
            "latency_ms": int(round(latency))}


def request_log_frame(rng, log_days: int, labelled_texts: set[str]) -> pd.DataFrame:
    """One row per request, in time order."""
    users, teams, activity = make_users(rng)
    popular = {c: [fresh_query(rng, c, labelled_texts) for _ in range(POPULAR_PROMPTS_PER_CATEGORY)] for c in CATEGORIES}
    popularity = 1.0 / np.arange(1, POPULAR_PROMPTS_PER_CATEGORY + 1)
    popularity /= popularity.sum()
    profile = np.array(HOURLY_PROFILE) / sum(HOURLY_PROFILE)

    rows = []
    for day in range(log_days):
        date = LOG_START + timedelta(days=day)
        weekend = date.weekday() >= 5
        for hour in range(24):
            rate = REQUESTS_PER_WEEKDAY * profile[hour] * (WEEKEND_FACTOR if weekend else 1.0)
            seconds = np.sort(rng.integers(0, 3600, size=int(rng.poisson(rate))))
            mix, busy = hour_mix(hour, weekend), not weekend and 9 <= hour < 18
            for second in seconds:
                category = CATEGORIES[int(rng.choice(len(CATEGORIES), p=mix))]
                if rng.random() < REPEAT_RATE:
                    query = popular[category][int(rng.choice(POPULAR_PROMPTS_PER_CATEGORY, p=popularity))]
                else:
                    query = fresh_query(rng, category, labelled_texts)
                user = int(rng.choice(N_USERS, p=activity))
                when = date + timedelta(hours=hour, seconds=int(second))
                rows.append({"timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"), **logged_call(rng, query, busy),
                             "user": users[user], "team": teams[user]})
    return pd.DataFrame(rows, columns=LOG_COLUMNS)


# ---------------------------------------------------------------------------------------------------------------
# README: every assumption, with the numbers taken from the constants above wherever they are tables
# ---------------------------------------------------------------------------------------------------------------

def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def modifier_examples(category: str, k: int = 4) -> str:
    """The category's strongest modifiers (one plain wording each, no slots) with their difficulty, for the README."""
    examples = []
    for m in sorted(BANKS[category].modifiers, key=lambda m: -m.difficulty):
        plain = [p for p in m.phrasings if "{" not in p and "|" not in p]
        if plain and len(examples) < k:
            examples.append(f"\"{plain[0]}\" ({m.difficulty:+.1f})")
    return "; ".join(examples)


def readme_text(seed: int, n_queries: int, log_days: int, labelled: pd.DataFrame, log: pd.DataFrame) -> str:
    models = list(MODELS)
    quality = labelled.pivot_table(index="category", columns="model", values="quality", aggfunc="mean")
    cost = labelled.pivot_table(index="category", columns="model", values="cost_usd", aggfunc="mean")
    result_rows = [[c] + [f"{quality.loc[c, m]:.3f}" for m in models] + [f"{cost.loc[c, m] * 1000:.3f}" for m in models]
                   for c in CATEGORIES if c in quality.index]
    result_rows.append(["**all**"] + [f"{labelled.loc[labelled.model == m, 'quality'].mean():.3f}" for m in models]
                       + [f"{labelled.loc[labelled.model == m, 'cost_usd'].mean() * 1000:.3f}" for m in models])
    banks = [[c, len(BANKS[c].templates), f"{min(t.difficulty for t in BANKS[c].templates):+.1f} … {max(t.difficulty for t in BANKS[c].templates):+.1f}",
              f"{CATEGORY_SHARE[c]:.0%}", CATEGORY_OUTPUT_TOKENS[c] or f"{TRANSLATION_OUTPUT_RATIO} × prompt", f"{BANKS[c].informal_rate:.0%}",
              modifier_examples(c)] for c in CATEGORIES]
    n_distinct = labelled.drop_duplicates("query_id")["query"].nunique()
    n_unique = labelled["query_id"].nunique()
    end = LOG_START + timedelta(days=log_days)
    return f"""# Sample data (synthetic)

Everything in this folder is **invented** by `router_core/sample_data.py` (seed {seed}). No row comes from a real
model, a real user, a real log or a real benchmark; the quality labels are drawn from the generative model below,
not measured. Real data for benchmarks lives outside the repository and never enters it.

Regenerate (byte-identical for the same seed):

    python -m router_core sample-data

| file | what it is |
|---|---|
| `catalog.csv` | the {len(CATALOG.candidates)} candidate models and their public list prices |
| `labelled.csv` | {n_unique:,} queries × {len(models)} models, one row per (query, model): quality, tokens, cost |
| `request_log.csv` | {len(log):,} requests over {log_days} days, as a naive setup (everything to `{LOG_MODEL}`) logged them |
| `router/` | the trained default router, written by the same command (trained on `labelled.csv`) |

## catalog.csv

Public list prices in USD per 1M tokens as of late 2024 (they change; treat them as an example).
`typical_output_tokens` prices a request before it is answered; it is close to each model's mean answer length in
`labelled.csv` ({", ".join(f"{m} {labelled.loc[labelled.model == m, 'output_tokens'].mean():.0f}" for m in models)}).

{markdown_table(["name", "provider_model_id", "input $/1M", "output $/1M", "typical output tokens"],
                [[c.name, c.provider_model_id, f"{c.input_usd_per_1m:.2f}", f"{c.output_usd_per_1m:.2f}", c.typical_output_tokens]
                 for c in CATALOG.candidates])}

## labelled.csv

Columns: `query_id, query, category, model, quality, input_tokens, output_tokens, cost_usd`. {n_unique:,} queries
({n_distinct:,} distinct strings: a few short everyday questions come up twice, as in real traffic), every query
has a row for every model.

### The generative model

    quality = sigmoid(skill[model, category] − difficulty(query) + e_query + e_answer)
    e_query ~ N(0, {QUERY_NOISE_SD}) shared by all models (what the text does not reveal about a query)
    e_answer ~ N(0, {ANSWER_NOISE_SD}) per (query, model) (the luck of one answer and of its judge)
    difficulty(query) = {DIFFICULTY_SCALE} × (template + slot values + modifiers) + {LENGTH_DIFFICULTY} × ln(1 + characters / 400)

quality is rounded to 3 decimals. The skills (logit scale) are calibrated qualitatively to MT-Bench's per-category
scores: the small models are close to the big one on writing, roleplay, chit-chat, extraction and summarisation,
and far behind on maths, reasoning and coding; gpt-4o is best overall, claude-3.5-haiku strong at coding and
writing, gpt-4o-mini decent, mistral-nemo the weakest. Because quality saturates near 1 for easy queries, the cheap
models are nearly as good as gpt-4o on the easy half and fall well behind on the hard half: that gap is what a
router can exploit.

{markdown_table(["category"] + models, [[c] + [f"{v:.1f}" for v in SKILL[c]] for c in CATEGORIES])}

### How difficulty shows in the text

Each query is built from a category's templates (several wordings each, e.g. `[Write|Can you write|I need] a
{{lang}} function that {{simple_task}}`), slot values and 0–3 modifiers (probabilities {", ".join(f"{p:.0%}" for p in MODIFIER_COUNT_P)}),
so a text encoder can learn more than the category:

(All difficulties below are in bank units, before the × {DIFFICULTY_SCALE}.)

- **template**: a base difficulty, e.g. a unit conversion −1.5, a proof +1.4, a system design +1.0;
- **slot values** carry difficulty too: binary search −0.5 vs red-black tree insertion +0.9 vs a Raft leader
  election +1.2; Spanish 0 vs Icelandic +0.95 vs Yoruba +1.1; 3 people in an ordering puzzle vs 6; a 2×2 vs a 3×3
  matrix; a "1500-word" blog post +0.8 (and 3.6× longer) vs a "short" one −0.2;
- **modifiers** add words and difficulty: constraints ("It must run in O(n log n) time." +0.8, "Don't use any
  libraries." +0.4, "Handle unicode and empty input." +0.5, "Include type hints and unit tests." +0.5),
  multi-step wording ("First …, then …, and finally …" +0.4 to +0.5), proofs and rigour (+0.9), generalising to n
  (+1.0), nested conditions in logic puzzles (+1.0), strict forms ("Don't use the letter 'e' anywhere." +2.0), output
  formats (a JSON schema +0.7); a few make a request easier ("Just the code, no explanation." −0.1);
- **pasted context**: code, emails, meeting notes, logs, articles, reviews, contracts; longer pastes add the length term.

Queries are typed the way people type: a greeting now and then ({GREETING_RATE:.0%}), casual lower case with "pls"/"u" and
no full stop (share per category below), a swapped-letter typo ({TYPO_RATE:.0%}), a "thanks" ({SIGN_OFF_RATE:.0%}). Style never changes difficulty.

{markdown_table(["category", "templates", "template difficulty (bank units)", "share", "answer tokens (base)", "casual",
                 "strongest modifiers (difficulty)"], banks)}

### Tokens and cost

- `input_tokens` = ceil(characters / {CHARS_PER_TOKEN}) + {SYSTEM_PROMPT_TOKENS} (a short system prompt).
- `output_tokens` = base tokens of the category × the template's, slots' and modifiers' length factors ("in one
  sentence" 0.1–0.2×, "step by step" 1.6×, "1500-word" 3.6×) × model verbosity
  ({", ".join(f"{m} {VERBOSITY[m]}" for m in models)}) × exp(N(0, {SHARED_LENGTH_SD}) shared per query + N(0, {ANSWER_LENGTH_SD}) per answer),
  rounded and clipped to [{MIN_OUTPUT_TOKENS}, {MAX_OUTPUT_TOKENS}]. A translation is {TRANSLATION_OUTPUT_RATIO} × as long as its prompt.
- `cost_usd` = input_tokens × input price + output_tokens × output price (per 1M tokens, from `catalog.csv`),
  rounded to 8 decimals.

### What came out (mean quality; mean cost per query in USD × 1000)

{markdown_table(["category"] + [f"quality {m}" for m in models] + [f"m$ {m}" for m in models], result_rows)}

## request_log.csv

Columns: `timestamp, prompt, model, prompt_tokens, completion_tokens, cost_usd, latency_ms, user, team`.

- {log_days} days from {LOG_START:%A %Y-%m-%d} 00:00 UTC to {end:%Y-%m-%d} 00:00 UTC; local time is taken to be UTC.
- Requests per hour ~ Poisson({REQUESTS_PER_WEEKDAY} per weekday × hourly profile), weekends × {WEEKEND_FACTOR}.
  Hourly profile (00 … 23 h, relative): {", ".join(f"{v:g}" for v in HOURLY_PROFILE)}. Seconds within the hour are uniform.
- The category mix shifts with the hour: 08–18 h business (coding {CATEGORY_MIX["business"]["coding"]:.0%}, extraction
  {CATEGORY_MIX["business"]["extraction"]:.0%}, summarisation {CATEGORY_MIX["business"]["summarisation"]:.0%}), 18–24 h evening (chit-chat
  {CATEGORY_MIX["evening"]["chit-chat"]:.0%}, writing {CATEGORY_MIX["evening"]["writing"]:.0%}, roleplay {CATEGORY_MIX["evening"]["roleplay"]:.0%}),
  00–08 h a mix; weekends blend each hour's mix half-and-half with the evening one.
- Prompts come from the same generator as the labelled set but are new (none is a labelled query); about
  {REPEAT_RATE:.0%} of requests re-send one of {POPULAR_PROMPTS_PER_CATEGORY} popular prompts per category verbatim (Zipf-like popularity),
  as real traffic does.
- Everything was sent to `{LOG_MODEL}` (the naive setup a router should beat); `completion_tokens` follow the token model
  above, `cost_usd` is priced from the catalog.
- `latency_ms` = ({FIRST_TOKEN_MS:g} ms × lognormal(0, 0.35) to the first token + {MS_PER_TOKEN:g} ms × lognormal(0, 0.15) per output token)
  × {BUSY_SLOWDOWN} in weekday business hours.
- {N_USERS} invented users in {len(TEAMS)} teams ({", ".join(TEAMS)}); a few heavy users and a long tail (activity ∝ 1/rank^0.8).
  User and team do not influence what is asked.

## Caveats

- The numbers are a plausible shape, not a measurement: do not quote them as model benchmarks.
- Categories are independent of users and teams, and difficulty is the only thing linking a query to its quality;
  real traffic has more structure.
- The noise per answer is independent across models, so the best-of-four oracle is somewhat optimistic.
"""


# ---------------------------------------------------------------------------------------------------------------
# Writing the files
# ---------------------------------------------------------------------------------------------------------------

def csv_text(frame: pd.DataFrame, decimals: dict[str, int] | None = None) -> str:
    """CSV with fixed decimals (no 1e-05 style floats), '\\n' line ends on every platform."""
    frame = frame.copy()
    for column, places in (decimals or {}).items():
        frame[column] = [f"{v:.{places}f}" for v in frame[column]]
    return frame.to_csv(index=False, lineterminator="\n")


def write_atomic(path: Path, text: str) -> None:
    """Write to a temp file in the same folder, then rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def generate(out_dir: str | Path, seed: int = DEFAULT_SEED, n_queries: int = 3000, log_days: int = 14) -> dict[str, Path]:
    """Write catalog.csv, labelled.csv, request_log.csv and README.md to out_dir; same seed, same bytes.

    Returns the paths of the three data files, keyed "catalog", "labelled", "request_log".
    """
    if int(n_queries) < 1 or int(log_days) < 1:
        raise RouterInputError(f"sample data: n_queries and log_days must be at least 1, got {n_queries} and {log_days}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    streams = random_streams(int(seed))
    queries = generate_queries(streams["queries"], int(n_queries))
    labelled = labelled_frame(queries, streams["labels"])
    log = request_log_frame(streams["log"], int(log_days), set(labelled["query"]))

    paths = {"catalog": out / "catalog.csv", "labelled": out / "labelled.csv", "request_log": out / "request_log.csv"}
    write_atomic(paths["catalog"], csv_text(CATALOG.to_frame()))
    write_atomic(paths["labelled"], csv_text(labelled, {"quality": 3, "cost_usd": 8}))
    write_atomic(paths["request_log"], csv_text(log, {"cost_usd": 8}))
    write_atomic(out / "README.md", readme_text(int(seed), int(n_queries), int(log_days), labelled, log))
    return paths
