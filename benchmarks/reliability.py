"""Reliability: what CrossRoute does with hostile or broken input, damaged artifacts, kills and contention.

    python benchmarks/reliability.py [--seed 0] [--examples 300] [--requests 1000]

Five tables, from the harnesses the tests use too (tests/reliability_*.py, tests/server_fuzz.py) and
reliability_parsers.py beside this one:
- parsers: generated files per parser a user feeds; every outcome is a correct result, a
  clear error (RouterInputError, one line), a crash (any other exception) or a silent corruption (a parse that
  succeeded with values other than the generator wrote);
- artifacts: corruptions of a saved router; refused, loaded with wrong decisions, crashed,
  or read a file outside the artifact's folder;
- kills: `train`, `save`, `export-onnx`, `upgrade` and `score-log`
  killed at many points, renames included; an artifact is lost when the destination is neither the old nor the new;
- cache: processes opening one fresh score cache at once; lock errors that reached the user;
- server: a running server fed generated broken chat requests, admin API calls and λ-policy texts, an upstream failing
  at random under 16 clients, clients leaving mid-stream or trickling their headers, and SIGKILL under load. Each case
  is answered, refused with a clear 4xx error, a crash (a 5xx it did not call for, an error that is not a bounded
  OpenAI-style object, a damaged log after a kill), silently wrong (answered when it must be refused, a wrong status),
  a hang (a connection the server did not close), or answered without a decision record (unrecorded).
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
import reliability_server  # noqa: E402
from results_io import Table, command_line, write_result  # noqa: E402

FAILURES = {"parsers": ["crashes", "silent_corruptions"], "artifacts": ["wrong_results", "crashes", "outside_reads"],
            "kills": ["artifacts_lost"], "cache": ["lock_errors"],
            "server": ["crashes", "silent_wrong", "hangs", "unrecorded"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=300, help="generated files per parser (default 300)")
    parser.add_argument("--requests", type=int, default=1000, help="generated cases per server surface (default 1000)")
    parser.add_argument("--kills", type=int, default=10, help="servers killed with SIGKILL under load (default 10)")
    parser.add_argument("--cache-rounds", type=int, default=20, help="rounds of concurrent cache opens (default 20)")
    args = parser.parse_args()
    started = time.perf_counter()
    parsers = pd.DataFrame.from_dict(reliability_parsers.parser_fuzz(args.seed, args.examples), orient="index")
    parsers.index.name = "parser"
    artifacts = pd.DataFrame([reliability_artifacts.artifact_corruptions(args.seed)], index=pd.Index(["router artifact"], name="target"))
    kills = pd.DataFrame([reliability_artifacts.kill_points(), reliability_score_log.kill_points()],
                         index=pd.Index(["train, save, export-onnx, upgrade", "score-log"], name="command"))
    cache = pd.DataFrame([reliability_cache.concurrent_cache_opens(rounds=args.cache_rounds)], index=pd.Index(["score cache"], name="target"))
    server = pd.DataFrame.from_dict(reliability_server.server_surfaces(args.seed, args.requests, args.kills), orient="index")
    server.index.name = "surface"
    tables = {"parsers": parsers, "artifacts": artifacts, "kills": kills, "cache": cache, "server": server}
    titles = {"parsers": f"Generated files per parser (seed {args.seed})",
              "artifacts": "Corrupted router artifacts (bundled sample router, copied)",
              "kills": "Commands killed at many points, renames included",
              "cache": "Processes opening one fresh score cache at once",
              "server": f"Generated hostile input to a running server (seed {args.seed})"}
    formats = {column: "int" for frame in tables.values() for column in frame.columns}
    failures = {name: int(frame[FAILURES[name]].to_numpy().sum()) for name, frame in tables.items()}
    for name, frame in tables.items():
        print(f"\n{titles[name]}\n{frame.to_string()}")
    verdict = ("zero crashes, silent corruptions, wrong results, outside reads, lost artifacts, lock errors, hangs and "
               "unrecorded answers"
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
                          "cache lock errors": int(cache["lock_errors"].sum()),
                          "server cases": int(server["tried"].sum()),
                          "server failures": int(server[FAILURES["server"]].to_numpy().sum())})
    return 1 if any(failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
