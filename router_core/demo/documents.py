"""Generated slot values made of words: pasted documents (for extraction, summarisation and translation requests),
code (for coding requests), and the people, dates and prices in them.

The words are in demo/word_banks/documents.yaml, code.yaml and shared.yaml; what each template field draws (which pool,
which range of numbers) is here, next to the structure of the document.
"""
from __future__ import annotations

import string

from router_core.demo.banks import SlotValue, fill_fields, load_words, pick, pick_k


def shared(key: str) -> tuple:
    """A pool of shared.yaml: names, companies, cities, months, job titles, products, languages, teams."""
    return load_words("shared")[key]


def document_words(document: str) -> dict:
    """The pools and templates of one document in documents.yaml."""
    return load_words("documents")[document]


def person(rng) -> str:
    return f"{pick(rng, shared('first_names'))} {pick(rng, shared('last_names'))}"


def email_of(name: str, company: str) -> str:
    first, last = name.lower().replace("'", "").split(" ", 1)
    domain = company.lower().replace(" & ", "").replace(" ", "")[:14]
    return f"{first}.{last}@{domain}.com".replace("í", "i")


def date_text(rng, year: int | None = None) -> str:
    """A date in one of the formats people actually type."""
    months = shared("months")
    year = year or int(rng.integers(2025, 2027))
    month, day = int(rng.integers(1, 13)), int(rng.integers(1, 29))
    style = int(rng.integers(5))
    if style == 0:
        return f"{months[month - 1]} {day}, {year}"
    if style == 1:
        return f"{day} {months[month - 1][:3]} {year}"
    if style == 2:
        return f"{year}-{month:02d}-{day:02d}"
    if style == 3:
        return f"{day:02d}/{month:02d}/{year}"
    return f"{months[month - 1]} {day}"


def money(rng, low: float = 40, high: float = 25000, symbol: str | None = None) -> str:
    symbol = symbol or pick(rng, shared("currency_symbols"))
    return f"{symbol}{float(rng.uniform(low, high)):,.2f}"


def clock(rng, start: int = 8, end: int = 18) -> str:
    return f"{int(rng.integers(start, end)):02d}:{pick(rng, ('00', '15', '30', '45'))}"


class Draw:
    """Drawers for `fill_fields`: each method returns a callable that draws only when its field is reached."""

    def __init__(self, rng):
        self.rng = rng

    def integer(self, low: int, high: int):
        return lambda: int(self.rng.integers(low, high))

    def uniform(self, low: float, high: float):
        return lambda: float(self.rng.uniform(low, high))

    def pick(self, pool, then=lambda text: text):
        return lambda: then(pick(self.rng, pool))

    def person(self):
        return lambda: person(self.rng)

    def date(self, year: int | None = None):
        return lambda: date_text(self.rng, year)

    def money(self, low: float, high: float, symbol: str | None = None):
        return lambda: money(self.rng, low, high, symbol)

    def clock(self, start: int, end: int):
        return lambda: clock(self.rng, start, end)


# ---------------------------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------------------------

def invoice_email(rng) -> str:
    words, draw = document_words("invoice_email"), Draw(rng)
    sender, company = person(rng), pick(rng, shared("companies"))
    lines = [fill_fields(words["greeting"], first=draw.pick(shared("first_names"))), "",
             fill_fields(words["body"], number=draw.integer(10000, 99999), item=draw.pick(words["items"]),
                         delivered=draw.date(), total=draw.money(300, 40000, "$"), vat=draw.money(50, 4000, "$"),
                         due=draw.date())]
    if rng.random() < 0.5:
        lines.append(fill_fields(words["late_fee"], fee=draw.money(20, 300, "$"), after=draw.date()))
    if rng.random() < 0.4:
        lines.append(fill_fields(words["outstanding"], number=draw.integer(10000, 99999), amount=draw.money(100, 9000, "$")))
    return "\n".join(lines + ["", words["sign_off"], sender, company])


def meeting_notes(rng) -> str:
    words, draw = document_words("meeting_notes"), Draw(rng)
    names = pick_k(rng, shared("first_names"), int(rng.integers(3, 7)))
    lines = [fill_fields(words["title"], team=draw.pick(words["teams"]), date=draw.date()),
             words["attendees"].format(names=", ".join(names))]
    for _ in range(int(rng.integers(3, 10))):
        line = pick(rng, words["lines"])
        who, who2 = pick(rng, names), pick(rng, names)
        lines.append(fill_fields(line, who=who, who2=who2, task=draw.pick(words["tasks"]), weekday=draw.pick(shared("weekdays")),
                                 decision=lambda: meeting_decision(rng, words["decisions"]), thing=draw.pick(words["things"]),
                                 company=draw.pick(shared("companies")), date=draw.date()))
    return "\n".join(lines)


def meeting_decision(rng, decisions: tuple) -> str:
    # a company and a date are drawn for every decision, named in it or not
    return pick(rng, decisions).format(company=pick(rng, shared("companies")), date=date_text(rng))


def news_paragraph(rng) -> str:
    draw = Draw(rng)
    fields = dict(company=draw.pick(shared("companies")), person=draw.person(), predecessor=draw.person(),
                  job=draw.pick(shared("job_titles")), month=draw.pick(shared("months")), city=draw.pick(shared("cities")),
                  revenue=draw.money(2, 900, "$"), date=draw.date(), staff=draw.integer(20, 400), rise=draw.uniform(0.5, 12))
    sentences = pick_k(rng, document_words("news_paragraph")["sentences"], int(rng.integers(3, 7)))
    return " ".join(fill_fields(sentence, **fields) for sentence in sentences)


def job_posting(rng) -> str:
    words, draw = document_words("job_posting"), Draw(rng)
    low = int(rng.integers(45, 140)) * 1000
    high = low + int(rng.integers(10, 60)) * 1000
    fields = dict(company=draw.pick(shared("companies")), title=draw.pick(shared("job_titles"), str.title),
                  work_mode=draw.pick(words["work_modes"]), city=draw.pick(shared("cities")), duty=draw.pick(words["duties"]),
                  manager=draw.pick(shared("job_titles")), years=draw.integer(2, 10), must_have=draw.pick(words["must_haves"]),
                  also=draw.pick(words["also"]), low=low, high=high, perk=draw.pick(words["perks"]), deadline=draw.date())
    lines = [fill_fields(line, **fields) for line in words["lines"]]
    if rng.random() < 0.5:
        lines.insert(2, fill_fields(words["nice_to_have"], extra=draw.pick(words["nice_to_haves"])))
    return "\n".join(lines)


def shipping_notice(rng) -> str:
    words, draw = document_words("shipping_notice"), Draw(rng)
    return fill_fields(words["text"], series=draw.pick(words["order_series"]), order=draw.integer(100000, 999999),
                       carrier=draw.pick(words["carriers"]), tracking=draw.integer(10**9, 10**10 - 1),
                       country=draw.pick(words["tracking_countries"]), count=draw.integer(1, 4),
                       product=draw.pick(shared("products")), date=draw.date(), phone=draw.pick(words["phone_prefixes"]),
                       extension=draw.integer(100, 999))


LOG_LEVELS = ("INFO", "INFO", "INFO", "WARN", "ERROR")  # repeats weight the draw: most lines are INFO
SERVER_ERRORS = (500, 502, 503, 504)


def log_lines(rng) -> str:
    words, draw = document_words("log_lines"), Draw(rng)
    lines = []
    for _ in range(int(rng.integers(6, 18))):
        level = pick(rng, LOG_LEVELS)
        server_error = int(pick(rng, SERVER_ERRORS))  # drawn for every line, shown on errors only
        status = {"INFO": 200, "WARN": 429, "ERROR": server_error}[level]
        path = pick(rng, words["paths"])
        lines.append(fill_fields(words["line"], day=draw.integer(1, 29), time=draw.clock(0, 24), second=draw.integer(0, 60),
                                 level=level, subnet=draw.integer(0, 8), host=draw.integer(2, 60),
                                 method=draw.pick(words["methods"]), path=path, status=status, ms=draw.integer(3, 2400)))
    return "```\n" + "\n".join(lines) + "\n```"


def contract_clause(rng) -> str:
    words, draw = document_words("contract_clause"), Draw(rng)
    return fill_fields(words["text"], section=draw.integer(3, 15), clause=draw.integer(1, 9),
                       notice=draw.pick(words["notice_periods"]), party=draw.pick(words["parties"]),
                       grace=draw.pick(words["payment_periods"]), confidentiality=draw.integer(5, 12),
                       liability=draw.integer(12, 20))


def product_listing(rng) -> str:
    words, draw = document_words("product_listing"), Draw(rng)
    product = pick(rng, shared("products"))
    return fill_fields(words["text"], brand=draw.pick(words["brands"]), product=product.title(),
                       edition=draw.pick(words["editions"]), price=draw.money(19, 900), was=draw.money(30, 1200),
                       battery=draw.pick(words["battery_phrases"]), hours=draw.integer(4, 60), grams=draw.integer(90, 9000),
                       feature=draw.pick(words["features"]), colours=lambda: ", ".join(pick_k(rng, words["colours"], 3)),
                       warranty=draw.integer(1, 5), free_over=draw.money(25, 100))


def cv_text(rng) -> str:
    words, draw = document_words("cv_text"), Draw(rng)
    name = person(rng)
    starts = sorted(int(y) for y in rng.integers(2008, 2022, size=int(rng.integers(2, 5))))
    jobs = [fill_fields(words["job"], start=start, end=lambda: start + int(rng.integers(1, 5)),
                        title=draw.pick(shared("job_titles"), str.title), company=draw.pick(shared("companies")),
                        city=draw.pick(shared("cities")))
            for start in starts]
    contact = fill_fields(words["contact"], email=lambda: email_of(name, pick(rng, shared("companies"))),
                          city=draw.pick(shared("cities")))
    education = fill_fields(words["education"], degree=draw.pick(words["degrees"]),
                            university=draw.pick(words["universities"]), year=draw.integer(2002, 2016))
    skills = fill_fields(words["skills_line"], skills=lambda: ", ".join(pick_k(rng, words["skills"], 4)))
    return "\n".join([name, contact, "", words["experience_heading"], *jobs, "", words["education_heading"], education, skills])


def contact_blob(rng) -> str:
    words = document_words("contact_blob")
    parts = []
    for _ in range(int(rng.integers(2, 6))):
        name, company = person(rng), pick(rng, shared("companies"))
        phone = f"{pick(rng, words['phone_prefixes'])}{int(rng.integers(100, 999))}"
        parts.append(pick(rng, words["sentences"]).format(name=name, first_name=name.split()[0], company=company,
                                                          email=email_of(name, company), phone=phone))
    return " ".join(parts)


def support_ticket(rng) -> str:
    words, draw = document_words("support_ticket"), Draw(rng)
    product = pick(rng, shared("products"))
    fault = pick(rng, words["faults"]).format(code=int(rng.integers(10, 99)))  # the code is drawn for every fault
    return fill_fields(words["text"], number=draw.integer(1000, 99999), person=draw.person(),
                       company=draw.pick(shared("companies")), subject=draw.pick(words["subjects"]), product=product,
                       greeting=draw.pick(words["greetings"]), opener=draw.pick(words["openers"]), fault=fault,
                       tried=draw.pick(words["tried"]), ending=draw.pick(words["endings"]))


def prescription_note(rng) -> str:
    words, draw = document_words("prescription_note"), Draw(rng)
    drugs = pick_k(rng, words["drugs"], int(rng.integers(2, 5)))
    orders = [fill_fields(words["start"] if i % 2 == 0 else words["continue"], drug=drug, dosing=draw.pick(words["dosing"]))
              for i, drug in enumerate(drugs)]
    return fill_fields(words["text"], orders=" ".join(orders), weeks=draw.integer(1, 8))


def event_invite(rng) -> str:
    words, draw = document_words("event_invite"), Draw(rng)
    city = pick(rng, shared("cities"))  # drawn before the venue, whichever venue it is
    venue = pick(rng, words["venues"]).format(city=city)
    return fill_fields(words["text"], opener=draw.pick(words["openers"]), event=draw.pick(words["events"]),
                       date=draw.date(), start=draw.clock(9, 18), end=draw.clock(12, 22), venue=venue,
                       contact=draw.pick(words["contacts"]), person=draw.person())


def reviews(rng) -> str:
    words = document_words("reviews")
    product = pick(rng, shared("products"))
    good = tuple(line.format(product=product) for line in words["good"])
    out = []
    for _ in range(int(rng.integers(3, 9))):
        stars = int(rng.integers(1, 6))
        pool = good if stars >= 4 else words["bad"] if stars <= 2 else good + words["bad"]
        out.append("★" * stars + "☆" * (5 - stars) + " " + " ".join(pick_k(rng, pool, int(rng.integers(1, 3)))))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# Summarisation
# ---------------------------------------------------------------------------------------------------------------

def article(rng) -> str:
    """A local-news article about one subject in one city, 4–11 sentences in paragraphs of 2–4."""
    words, draw = document_words("article"), Draw(rng)
    subject, city = pick(rng, words["subjects"]), pick(rng, shared("cities"))
    fields = dict(subject=subject, city=city, rise=draw.integer(5, 80), since=draw.integer(2015, 2025), date=draw.date(),
                  company=draw.pick(shared("companies")), person=draw.person(), budget=draw.money(2, 90, "$"),
                  budget_years=draw.integer(2, 10), other_city=draw.pick(shared("cities")),
                  another_city=draw.pick(shared("cities")), surveyed=draw.integer(300, 5000), support=draw.integer(40, 80),
                  oppose=draw.integer(10, 35), months=draw.integer(3, 24), effect=draw.pick(words["business_effects"]),
                  month=draw.pick(shared("months")), districts=draw.integer(2, 12), verdict=draw.pick(words["verdicts"]),
                  partner=draw.pick(words["partners"]))
    chosen = pick_k(rng, words["sentences"], int(rng.integers(4, 12)))
    sentences = [fill_fields(sentence, **fields) for sentence in chosen]
    paragraphs, i = [], 0
    while i < len(sentences):  # paragraphs of 2–4 sentences, as a pasted article would have
        step = int(rng.integers(2, 5))
        paragraphs.append(" ".join(sentences[i:i + step]))
        i += step
    return "\n\n".join(paragraphs)


def email_thread(rng) -> str:
    words, draw = document_words("email_thread"), Draw(rng)
    people = pick_k(rng, shared("first_names"), int(rng.integers(2, 4)))
    messages = []
    for k in range(int(rng.integers(2, 5))):
        body = " ".join(pick_k(rng, words["sentences"], int(rng.integers(2, 5))))
        messages.append(fill_fields(words["message"], sender=people[k % len(people)], date=draw.date(2026), body=body))
    return "\n\n---\n\n".join(messages)


def transcript(rng) -> str:
    speakers = pick_k(rng, shared("first_names"), int(rng.integers(2, 5)))
    lines = document_words("transcript")["lines"]
    return "\n".join(f"{pick(rng, speakers)}: {pick(rng, lines)}" for _ in range(int(rng.integers(6, 16))))


def incident_report(rng) -> str:
    words, draw = document_words("incident_report"), Draw(rng)
    service = pick(rng, words["services"])
    return fill_fields(words["text"], number=draw.integer(100, 999), service=service,
                       date=draw.date(), start=draw.clock(0, 22), minutes=draw.integer(8, 240),
                       severity=draw.integer(1, 4), failed=draw.integer(2, 100), users=draw.integer(200, 90000),
                       cause=draw.pick(words["causes"]), detection=draw.pick(words["detections"]),
                       fix=draw.pick(words["fixes"]), follow_ups=lambda: "; ".join(pick_k(rng, words["follow_ups"], 2)))


def abstract(rng) -> str:
    words, draw = document_words("abstract"), Draw(rng)
    return fill_fields(words["text"], name=draw.pick(words["names"]), adjective=draw.pick(words["adjectives"]),
                       task=draw.pick(words["tasks"]), prior=draw.pick(words["prior"]), method=draw.pick(words["methods"]),
                       data=draw.pick(words["data"]), metric=draw.pick(words["metrics"]), gain=draw.uniform(0.5, 6),
                       speedup=draw.uniform(1.5, 9), component=draw.pick(words["components"]),
                       limit=draw.pick(words["limits"]))


def chat_log(rng) -> str:
    words = document_words("chat_log")
    lines = []
    for _ in range(int(rng.integers(3, 8))):
        lines.append(f"Customer: {pick(rng, words['customer'])}")
        lines.append(f"Agent: {pick(rng, words['agent'])}")
    return "\n".join(lines)


def op_ed(rng) -> str:
    words = document_words("op_ed")
    cause, percent = pick(rng, words["causes"]), int(rng.integers(40, 70))
    sentences = [sentence.format(cause=cause, percent=percent) for sentence in words["sentences"]]
    return " ".join(pick_k(rng, sentences, int(rng.integers(5, 9))))


def policy_text(rng) -> str:
    rules = pick_k(rng, document_words("policy_text")["rules"], int(rng.integers(4, 9)))
    return "\n".join(f"{i + 1}. {rule}" for i, rule in enumerate(rules))


def proposal(rng) -> str:
    words, draw = document_words("proposal"), Draw(rng)
    return fill_fields(words["text"], action=draw.pick(words["actions"]), cost=draw.money(20, 900, "$"),
                       months=draw.integer(2, 18), benefit=draw.pick(words["benefits"]), extra=draw.pick(words["extras"]),
                       risk=draw.pick(words["risks"]))


# ---------------------------------------------------------------------------------------------------------------
# Writing and translation
# ---------------------------------------------------------------------------------------------------------------

def paragraph_to_rewrite(rng) -> str:
    # every paragraph's words are drawn before one paragraph is chosen
    month, product = pick(rng, shared("months")), pick(rng, shared("products"))
    broken_product, city = pick(rng, shared("products")), pick(rng, shared("cities"))
    paragraph = pick(rng, document_words("paragraph_to_rewrite")["paragraphs"])
    return paragraph.format(month=month, product=product, broken_product=broken_product, city=city)


def english_text(rng) -> str:
    return " ".join(pick_k(rng, document_words("english_text")["sentences"], int(rng.integers(1, 4))))


def foreign_request(rng) -> SlotValue:
    words = document_words("foreign_request")
    return SlotValue(words["text"].format(**pick(rng, words["sentences"])))


def email_body(rng) -> str:
    draw = Draw(rng)
    return fill_fields(document_words("email_body")["text"], first=draw.pick(shared("first_names")),
                       english=lambda: english_text(rng), sentence=draw.pick(document_words("email_thread")["sentences"]),
                       person=draw.person())


def ui_strings(rng) -> str:
    strings = pick_k(rng, document_words("ui_strings")["strings"], int(rng.integers(3, 7)))
    return "```json\n{\n  " + ",\n  ".join(strings) + "\n}\n```"


def medical_note(rng) -> str:
    words, draw = document_words("medical_note"), Draw(rng)
    return fill_fields(words["text"], admitted=draw.date(), condition=draw.pick(words["conditions"]),
                       medicine=draw.pick(words["medicines"]), warning=draw.pick(words["warnings"]),
                       follow_up=draw.date())


def tech_paragraph(rng) -> str:
    return pick(rng, document_words("tech_paragraph")["paragraphs"])


def word_list(rng) -> str:
    return ", ".join(pick_k(rng, document_words("word_list")["words"], int(rng.integers(3, 8))))


# ---------------------------------------------------------------------------------------------------------------
# Code
# ---------------------------------------------------------------------------------------------------------------

def fill_code(rng, code: str) -> str:
    identifiers = load_words("code")["identifiers"]
    return string.Template(code).safe_substitute({k: pick(rng, names) for k, names in identifiers.items()})


def code_snippet(rng) -> SlotValue:
    snippet = pick(rng, load_words("code")["snippets"])
    return SlotValue(f"```{snippet['language']}\n{fill_code(rng, snippet['code'])}\n```", 0.0, 1.0)


def bug_report(rng) -> SlotValue:
    """A pasted snippet with the error it throws; the first line is the request."""
    code_words = load_words("code")
    snippet = pick(rng, code_words["snippets"])
    code, error = fill_code(rng, snippet["code"]), fill_code(rng, snippet["error"])
    layout = pick(rng, code_words["bug_report_layouts"])
    return SlotValue(layout.format(error=error, block=f"```{snippet['language']}\n{code}\n```"))
