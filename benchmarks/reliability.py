"""Reliability: what CrossRoute does with hostile or broken input, damaged artifacts, kills and contention.

    python benchmarks/reliability.py [--seed 0] [--examples 300]

Four tables, each from its own module beside this one:
- parsers (reliability_parsers.py): generated files per parser a user feeds; every outcome is a correct result, a
  clear error (RouterInputError, one line), a crash (any other exception) or a silent corruption (a parse that
  succeeded with values other than the generator wrote);
- artifacts (reliability_artifacts.py): corruptions of a saved router; refused, loaded with wrong decisions, crashed,
  or read a file outside the artifact's folder;
- kills (reliability_artifacts.py, reliability_score_log.py): `train`, `save`, `export-onnx`, `upgrade` and `score-log`
  killed at many points, renames included; an artifact is lost when the destination is neither the old nor the new;
- cache (reliability_cache.py): processes opening one fresh score cache at once; lock errors that reached the user.
The target is zero in every failure column.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the harnesses the tests use too
import reliability_artifacts  # noqa: E402
import reliability_cache  # noqa: E402
import reliability_parsers  # noqa: E402
import reliability_score_log  # noqa: E402
from results_io import Table, command_line, write_result  # noqa: E402

FAILURES = {"parsers": ["crashes", "silent_corruptions"], "artifacts": ["wrong_results", "crashes", "outside_reads"],
            "kills": ["artifacts_lost"], "cache": ["lock_errors"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=300, help="generated files per parser (default 300)")
    parser.add_argument("--cache-rounds", type=int, default=20, help="rounds of concurrent cache opens (default 20)")
    args = parser.parse_args()
    started = time.perf_counter()
    parsers = pd.DataFrame.from_dict(reliability_parsers.parser_fuzz(args.seed, args.examples), orient="index")
    parsers.index.name = "parser"
    artifacts = pd.DataFrame([reliability_artifacts.artifact_corruptions(args.seed)], index=pd.Index(["router artifact"], name="target"))
    kills = pd.DataFrame([reliability_artifacts.kill_points(), reliability_score_log.kill_points()],
                         index=pd.Index(["train, save, export-onnx, upgrade", "score-log"], name="command"))
    cache = pd.DataFrame([reliability_cache.concurrent_cache_opens(rounds=args.cache_rounds)], index=pd.Index(["score cache"], name="target"))
    tables = {"parsers": parsers, "artifacts": artifacts, "kills": kills, "cache": cache}
    titles = {"parsers": f"Generated files per parser (seed {args.seed})",
              "artifacts": "Corrupted router artifacts (bundled sample router, copied)",
              "kills": "Commands killed at many points, renames included",
              "cache": "Processes opening one fresh score cache at once"}
    formats = {column: "int" for frame in tables.values() for column in frame.columns}
    failures = {name: int(frame[FAILURES[name]].to_numpy().sum()) for name, frame in tables.items()}
    for name, frame in tables.items():
        print(f"\n{titles[name]}\n{frame.to_string()}")
    verdict = ("zero crashes, silent corruptions, wrong results, outside reads, lost artifacts and lock errors"
               if not any(failures.values()) else
               "failures: " + ", ".join(f"{name} {n}" for name, n in failures.items() if n))
    print(f"\n- {verdict}")
    write_result("reliability", command_line(),
                 [Table(titles[name], frame, {c: formats[c] for c in frame.columns}) for name, frame in tables.items()],
                 notes=[verdict], seconds=time.perf_counter() - started,
                 summary={"parser files": int(parsers["tried"].sum()), "crashes": int(parsers["crashes"].sum()),
                          "silent corruptions": int(parsers["silent_corruptions"].sum()),
                          "artifact corruptions": int(artifacts["tried"].sum()),
                          "wrong or outside": int(artifacts[["wrong_results", "outside_reads"]].to_numpy().sum()),
                          "kill points": int(kills["tried"].sum()), "artifacts lost": int(kills["artifacts_lost"].sum()),
                          "cache lock errors": int(cache["lock_errors"].sum())})
    return 1 if any(failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
