"""The Pareto chart reads right: dollar ticks at 1-2-5, nothing outside the axes, model labels clear of the edge."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from router_core.dashboard_views.figures import money_ticks, pareto_figure


def curves() -> dict[str, pd.DataFrame]:
    lam = np.linspace(0, 1, 21)
    return {
        "cross-attention": pd.DataFrame({"lam": lam, "cost": np.geomspace(0.0036, 0.00005, 21), "quality": np.linspace(0.83, 0.675, 21)}),
        "oracle": pd.DataFrame({"cost": np.geomspace(0.00005, 0.0025, 15), "quality": np.linspace(0.68, 0.855, 15)}),
        "random": pd.DataFrame({"cost": np.linspace(0.00005, 0.0037, 15), "quality": np.linspace(0.675, 0.828, 15)}),
        "single:gpt-4o": pd.DataFrame({"cost": [0.0037], "quality": [0.828]}),
        "single:mistral-nemo": pd.DataFrame({"cost": [0.00005], "quality": [0.675]}),
        "call-every": pd.DataFrame({"cost": [0.012], "quality": [0.855], "quality_low": [0.76]}),
    }


def test_cost_axis_is_labelled_in_dollars_at_one_two_five():
    axis = pareto_figure(curves(), 0.2).layout.xaxis
    assert list(axis.ticktext) == ["$0.00005", "$0.0001", "$0.0002", "$0.0005", "$0.001", "$0.002", "$0.005", "$0.01"]
    assert axis.type == "log" and len(axis.tickvals) == len(axis.ticktext)


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.00005, 0.012, [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01]),
    (0.3, 0.9, [0.5]),  # one tick inside is not enough: widen to the neighbours
    (1e-6, 1.0, [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]),  # six decades: powers of ten only
])
def test_money_ticks(low, high, expected):
    ticks = money_ticks(low, high)
    if len(expected) == 1:
        assert expected[0] in ticks and min(ticks) < low and max(ticks) > high
    else:
        np.testing.assert_allclose(ticks, expected)


def test_every_point_and_error_bar_lies_inside_the_axes():
    figure = pareto_figure(curves(), 0.2)
    (x_low, x_high), (y_low, y_high) = figure.layout.xaxis.range, figure.layout.yaxis.range
    assert x_low < np.log10(0.00005) and x_high > np.log10(0.012)  # log axis: the range is in decades
    assert y_low < 0.675 and y_high > 0.855  # the oracle's top and mistral-nemo's label both fit
    assert y_low < 0.76  # the call-every estimate's error bar


def test_model_labels_sit_beside_their_markers_and_turn_inward_at_the_right_edge():
    figure = pareto_figure(curves(), 0.2)
    labels = {a.text: a for a in figure.layout.annotations}
    assert set(labels) == {"gpt-4o", "mistral-nemo", "call every model (estimate)"}
    assert labels["mistral-nemo"].xanchor == "left" and labels["gpt-4o"].xanchor == "left"
    assert labels["call every model (estimate)"].xanchor == "right"  # the rightmost point: its text runs leftward
    assert all(a.bgcolor and a.showarrow is False for a in labels.values())  # a white ground: no curve through the text
    assert not any("text" in (trace.mode or "") for trace in figure.data)  # no label drawn as trace text any more


def test_the_models_page_before_and_after_curves_use_the_same_dollar_ticks():
    from router_core.dashboard_views.figures import predicted_curves_figure

    class Sweep:
        lams = np.linspace(0, 1, 5)

        def predicted_means(self):
            return np.geomspace(0.004, 0.0001, 5), np.linspace(0.83, 0.7, 5)

    axis = predicted_curves_figure({"before": Sweep()}).layout.xaxis
    assert axis.type == "log" and list(axis.ticktext) == ["$0.0001", "$0.0002", "$0.0005", "$0.001", "$0.002"]
