"""Parser fuzzing for the reliability table: generated files per parser, and what each parser made of them.

Usage: python -m benchmarks.reliability_parsers [--seed 0] [--examples 200]
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from parser_cases import OUTCOMES, PARSERS, judge  # noqa: E402


def parser_fuzz(seed: int = 0, examples_per_parser: int = 200) -> dict[str, dict[str, int]]:
    """Per parser: examples tried, clear errors, crashes, silent corruptions (incl. valid files refused) and ok."""
    table = {}
    for parser, (cases, _) in PARSERS.items():
        counts = Counter()

        @hypothesis_seed(seed)
        @settings(max_examples=examples_per_parser, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(cases())
        def probe(case):
            try:
                counts[judge(case)] += 1
            except Exception:  # any exception other than RouterInputError is a crash of the parser
                counts["crashes"] += 1

        probe()
        table[parser] = {"tried": sum(counts.values()), "clear_errors": counts["clear_error"], "crashes": counts["crashes"],
                         "silent_corruptions": counts["silent_corruption"] + counts["wrongly_refused"], "ok": counts["ok"]}
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=200)
    args = parser.parse_args(argv)
    table = parser_fuzz(args.seed, args.examples)
    print("| parser | tried | clear errors | crashes | silent corruptions | ok |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, row in table.items():
        print(f"| {name} | {row['tried']} | {row['clear_errors']} | {row['crashes']} | {row['silent_corruptions']} | {row['ok']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

assert set(OUTCOMES) == {"ok", "clear_error", "wrongly_refused", "silent_corruption"}
