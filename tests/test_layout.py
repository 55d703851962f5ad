"""The library's shape: packages import one way (no package reaches up to one that depends on it), nothing in
router_core imports a page, a benchmark or Streamlit, and routing with an ONNX export never imports torch."""
from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "router_core"
# Lowest first: a unit may import only from units on its own level or below. A package is a unit; so is each
# top-level module. Every unit of router_core must be listed.
LAYERS = [
    ["errors", "config", "units", "files"],
    ["data"],
    ["policy", "quality"],
    ["model"],
    ["artifact"],
    ["router"],
    ["onnx_export", "router_zip", "evaluation", "decisionlog"],
    ["live", "dashboard_views", "feedback"],
    ["traffic"],
    ["serve", "demo"],
    ["cli", "__main__", "__init__"],
]
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}
FORBIDDEN = ("streamlit", "app_pages", "benchmarks", "dashboard", "tests")


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports() -> list[tuple[str, str, int, bool]]:
    """(importing module, imported module, line, at module level) for every import in router_core."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            found += [(module, name, node.lineno, id(node) in top) for name in names]
    return found


def test_every_unit_of_router_core_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert units == set(LEVEL), f"unplaced: {sorted(units - set(LEVEL))}, gone: {sorted(set(LEVEL) - units)}"


def test_imports_go_one_way():
    upward = [f"{module} (line {line}) imports {name}" for module, name, line, _ in imports()
              if name.startswith("router_core.") and LEVEL[unit_of(name)] > LEVEL[unit_of(module)]]
    assert not upward, "\n".join(upward)


def test_no_package_imports_cycle_back_into_itself():
    graph = defaultdict(set)
    for module, name, _, _ in imports():
        if name.startswith("router_core.") and unit_of(name) != unit_of(module):
            graph[unit_of(module)].add(unit_of(name))
    seen, stack = set(), []

    def visit(unit):
        assert unit not in stack, f"import cycle: {' -> '.join(stack[stack.index(unit):] + [unit])}"
        if unit in seen:
            return
        stack.append(unit)
        for other in graph[unit]:
            visit(other)
        stack.pop()
        seen.add(unit)

    for unit in list(graph):
        visit(unit)


def test_the_library_never_imports_a_page_a_benchmark_or_streamlit():
    wrong = [f"{module} (line {line}) imports {name}" for module, name, line, _ in imports()
             if name.split(".")[0] in FORBIDDEN]
    assert not wrong, "\n".join(wrong)


def test_routing_with_the_bundled_onnx_router_never_imports_torch_or_transformers():
    code = ("import sys; from router_core import Router; from router_core.serve.service import RoutingService; "
            "from router_core.dashboard_views.explain import word_attention; "
            "r = Router.load('sample_data/router', cache_dir=None); s = r.scores(['Prove that 2 is prime', 'hi']); "
            "d = r.decide(s, 0.3); w = word_attention(r.tokenizer, 'Prove that 2 is prime', s.attention[0], s.candidates); "
            "print(r.backend, d[0].candidate in r.candidates, len(w) > 3, "
            "[m for m in ('torch', 'transformers', 'streamlit') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["onnx-fp32", "True", "True", "[]"], result.stdout
