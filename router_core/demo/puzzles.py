"""Generated slot values for maths and reasoning requests: equations, matrices and logic puzzles whose size sets
their difficulty. The words are in demo/word_banks/puzzles.yaml; the numbers and the rules that make a puzzle are here."""
from __future__ import annotations

from router_core.demo.banks import SlotValue, load_words, pick, pick_k
from router_core.demo.documents import shared

JUG_SIZES = ((3, 5), (4, 7), (5, 7), (3, 8), (4, 9), (5, 11), (7, 10))


def puzzle_words(puzzle: str) -> dict:
    """The words and templates of one puzzle in puzzles.yaml."""
    return load_words("puzzles")[puzzle]


# ---------------------------------------------------------------------------------------------------------------
# Maths
# ---------------------------------------------------------------------------------------------------------------

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
    unit_from, unit_to, low, high = pick(rng, puzzle_words("unit_conversion")["units"])
    value = rng.uniform(low, high)
    return f"{value:.1f} {unit_from} to {unit_to}" if rng.random() < 0.3 else f"{int(value)} {unit_from} to {unit_to}"


# ---------------------------------------------------------------------------------------------------------------
# Reasoning
# ---------------------------------------------------------------------------------------------------------------

def ordering_puzzle(rng) -> SlotValue:
    """k people, k − 1 shuffled comparisons; more people, harder."""
    words = puzzle_words("ordering_puzzle")
    k = int(rng.integers(3, 7))
    names = pick_k(rng, shared("first_names"), k)
    comparison = pick(rng, words["comparisons"])
    relation = comparison["relation"]
    facts = [words["fact"].format(a=names[i], relation=relation, b=names[i + 1]) for i in range(k - 1)]
    facts = [facts[int(i)] for i in rng.permutation(len(facts))]
    if rng.random() < 0.7:
        question = words["who_question"].format(extreme=pick(rng, (comparison["most"], comparison["least"])))
    else:
        question = words["check_question"].format(last=names[-1], relation=relation, first=names[0])
    return SlotValue(words["text"].format(facts=", ".join(facts[:-1]), last_fact=facts[-1], question=question), 0.25 * (k - 3))


def syllogism(rng) -> SlotValue:
    words = puzzle_words("syllogism")
    a, b, c = pick_k(rng, words["terms"], 3)
    form, difficulty = pick(rng, words["forms"])
    return SlotValue(form.format(a=a, b=b, c=c), difficulty)


def knights_puzzle(rng) -> SlotValue:
    words = puzzle_words("knights_puzzle")
    k = int(rng.integers(2, 4))
    names = pick_k(rng, shared("first_names"), k)
    statements = [pick(rng, words["statements"]).format(name=name, other=names[(i + 1) % k]) for i, name in enumerate(names)]
    return SlotValue(words["text"].format(statements=" ".join(statements)), 0.4 * (k - 2))


def objects_story(rng) -> str:
    words = puzzle_words("objects_story")
    thing = pick(rng, words["things"])
    n, given, bought = int(rng.integers(10, 40)), int(rng.integers(2, 10)), int(rng.integers(2, 15))
    return words["text"].format(n=n, thing=thing, given=given, relative=pick(rng, words["relatives"]), bought=bought)


def jug_puzzle(rng) -> str:
    a, b = pick(rng, JUG_SIZES)
    target = pick(rng, [v for v in range(1, b) if v != a])
    return puzzle_words("jug_puzzle")["text"].format(a=a, b=b, target=target)


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
    words = puzzle_words("family_puzzle")
    a, b = pick_k(rng, shared("first_names"), 2)
    chain = pick_k(rng, words["relations"], int(rng.integers(2, 4)))
    return SlotValue(words["text"].format(a=a, b=b, relation="'s ".join(chain)), 0.3 * (len(chain) - 2))


def schedule_puzzle(rng) -> SlotValue:
    words = puzzle_words("schedule_puzzle")
    k = int(rng.integers(4, 7))
    talks = list("ABCDEFG"[:k])
    hours = [f"{9 + i}:00" for i in range(k)]
    rules = []
    for _ in range(k - 1):
        x, y = pick_k(rng, talks, 2)
        hour = pick(rng, hours)  # drawn for every rule, named by one kind of rule
        rules.append(pick(rng, words["rules"]).format(x=x, y=y, hour=hour))
    return SlotValue(words["text"].format(count=k, talks=", ".join(talks), hours=", ".join(hours), rules="; ".join(rules)),
                     0.3 * (k - 4))


def clock_time(rng) -> str:
    return f"{int(rng.integers(1, 13))}:{int(rng.integers(0, 12)) * 5:02d}"
