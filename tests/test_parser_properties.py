"""For any generated file, each parser a user feeds returns exactly the generated values or raises RouterInputError.

Corrupted files must be refused with RouterInputError (request logs: exactly the corrupted rows set aside, with
rows in = kept + rejected); never another exception, never a silently wrong value.
"""
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).parent))
from parser_cases import PARSERS, judge  # noqa: E402

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("parser", list(PARSERS))
def test_parser_returns_the_truth_or_a_clear_error(parser):
    @PROPERTY
    @given(PARSERS[parser][0]())
    def check(case):
        assert judge(case) in ("ok", "clear_error"), case

    check()


@pytest.mark.parametrize("parser", list(PARSERS))
def test_the_judge_calls_a_wrong_value_a_silent_corruption(parser):
    from dataclasses import replace

    from hypothesis import find

    valid = find(PARSERS[parser][0](), lambda case: case.corruption is None and judge(case) == "ok")
    wrong = {key: value for key, value in valid.truth.items()}
    first_list = next(key for key, value in wrong.items() if isinstance(value, list))
    wrong[first_list] = ["a value no parser returns"] * len(wrong[first_list])
    assert judge(replace(valid, truth=wrong)) == "silent_corruption"
