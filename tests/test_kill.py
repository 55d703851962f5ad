"""`save`, `upgrade`, `train` and `export-onnx` killed at every write, rename and clean-up (in child processes, with
and without the atomic exchange): the destination always loads as the complete old or new router, and the next run
leaves no staging or retired folder behind."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_artifacts import kill_points  # noqa: E402

pytestmark = [pytest.mark.slow]


def _check(result: dict, at_least: int) -> None:
    lost = [d for d in result["details"] if d["state"] not in ("old", "new") and not (d["op"] == "train" and d["state"] == "other")]
    kept = [d for d in result["details"] if d["leftovers"]]
    assert result["tried"] >= at_least
    assert lost == [] and result["artifacts_lost"] == 0
    assert kept == [] and result["leftovers_kept"] == 0
    for op in {d["op"] for d in result["details"]}:  # each operation was killed both before and after its switch
        states = {d["state"] for d in result["details"] if d["op"] == op}
        assert "old" in states and states - {"old"}, (op, states)


def test_killing_save_and_upgrade_never_loses_the_artifact():
    _check(kill_points(ops=("save", "upgrade"), details=True), at_least=20)


def test_killing_train_never_loses_the_artifact():
    _check(kill_points(ops=("train",), details=True, exchanges=(False,)), at_least=5)


def test_killing_export_onnx_never_loses_the_artifact():
    _check(kill_points(ops=("export-onnx",), details=True), at_least=4)
