"""Plotly figures of the Monitoring page (no Streamlit here). Model names come from the log: HTML-escaped."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from router_core.dashboard_views.figures import safe
from router_core.units import usd


def _layout(figure: go.Figure, title: str, height: int = 300) -> go.Figure:
    figure.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=50, b=40), legend=dict(orientation="h", y=-0.2))
    return figure


def _time_axis(figure: go.Figure, times: pd.Series, width: int) -> go.Figure:
    """The whole range on the x axis, ticks in units the bucket width makes sense of (never sub-second ones)."""
    if len(times):
        start, end = pd.Timestamp(times.min()), pd.Timestamp(times.max()) + pd.Timedelta(seconds=width)
        figure.update_xaxes(range=[start, end])
    if width < 60:
        figure.update_xaxes(tickformat="%H:%M:%S")
    elif width < 86400:
        figure.update_xaxes(tickformat="%b %d %H:%M")
    else:
        figure.update_xaxes(tickformat="%b %d")
    return figure


def _bucket_name(width: int) -> str:
    return f"{width} s" if width < 60 else f"{width // 60} min" if width < 3600 else f"{width // 3600} h" if width < 86400 else f"{width // 86400} d"


def traffic_figure(buckets: pd.DataFrame) -> go.Figure:
    """Requests per bucket (measured), with the fallen-back and failed ones beside; empty buckets are bars of 0."""
    width = int(buckets.attrs.get("width", 60))
    figure = go.Figure()
    bar_ms = width * 1000 * 0.9
    figure.add_bar(x=buckets["time"] + pd.Timedelta(seconds=width / 2), y=buckets["requests"], width=bar_ms,
                   name=f"requests per {_bucket_name(width)}", marker_color="#1f77b4")
    for column, name, colour in (("fell_back", "fell back", "#ff7f0e"), ("failed", "failed", "#d62728")):
        if buckets[column].sum() > 0:
            figure.add_bar(x=buckets["time"] + pd.Timedelta(seconds=width / 2), y=buckets[column], width=bar_ms * 0.5,
                           name=f"{name} (requests)", marker_color=colour)
    figure.update_layout(barmode="overlay")
    figure.update_yaxes(rangemode="tozero", title=f"requests per {_bucket_name(width)}")
    return _time_axis(_layout(figure, "Traffic (measured from the log)"), buckets["time"], width)


def mix_over_time_figure(mix: pd.DataFrame) -> go.Figure:
    """Stacked bars of each bucket's shares: a bucket without requests has no bar (nothing is interpolated)."""
    width = int(mix.attrs.get("width", 60))
    share = mix.pivot_table(index="time", columns="model", values="requests", fill_value=0)
    share = share.div(share.sum(axis=1), axis=0)
    figure = go.Figure()
    for model in share.columns:
        figure.add_bar(x=share.index + pd.Timedelta(seconds=width / 2), y=share[model], name=safe(model), width=width * 900)
    figure.update_layout(barmode="stack")
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    times = pd.Series(share.index) if len(share) else pd.Series([], dtype="datetime64[ns, UTC]")
    if "first" in mix.attrs and len(share):
        times = pd.Series([pd.Timestamp(mix.attrs["first"], unit="s", tz="UTC"), share.index.max()])
    return _time_axis(_layout(figure, "Model mix: share of requests answered by each model (measured)"), times, width)


def lambda_figure(sources: pd.DataFrame, width: int = 60) -> go.Figure:
    """Mean λ per bucket; markers only, so no line claims a λ for a stretch without requests."""
    figure = go.Figure()
    for source, part in sources.groupby("source"):
        figure.add_scatter(x=part["time"] + pd.Timedelta(seconds=width / 2), y=part["mean_lambda"],
                           name=f"λ from {safe(source)}", mode="markers", marker_size=6)
    figure.update_yaxes(range=[-0.02, 1.02], title="mean λ")
    return _time_axis(_layout(figure, "λ over time, by where it came from (recorded per request)"), sources["time"], width)


def spend_figure(buckets: pd.DataFrame, daily_budget: float | None, replay: bool = False) -> go.Figure:
    """Cumulative spend per UTC day (measured; for a replay, as the replay charged it), against the daily budget."""
    width = int(buckets.attrs.get("width", 60))
    frame = buckets[["time", "spend_usd"]].copy()
    frame["end"] = frame["time"] + pd.Timedelta(seconds=width)  # spend is known at the end of its bucket
    frame["day"] = frame["time"].dt.normalize()
    frame["cumulative"] = frame.groupby("day")["spend_usd"].cumsum()
    figure = go.Figure()
    kind = "replayed" if replay else "measured"
    figure.add_scatter(x=frame["end"], y=frame["cumulative"], name=f"spend so far today ({kind}, USD)", mode="lines",
                       line_shape="hv")  # steps: flat where nothing was spent, never a slope across empty buckets
    if daily_budget:
        figure.add_scatter(x=frame["end"], y=[daily_budget] * len(frame), name=f"daily budget {usd(daily_budget)}",
                           mode="lines", line=dict(dash="dash", color="#d62728"))
    figure.update_yaxes(title="USD", tickprefix="$", rangemode="nonnegative")
    return _time_axis(_layout(figure, "Spend against the daily budget (each UTC day from zero)"), frame["time"], width)


def weights_figure(weights: pd.DataFrame) -> go.Figure:
    table = weights.pivot_table(index="model", columns="hour", values="weight")
    figure = make_subplots()
    figure.add_heatmap(z=table.to_numpy(), x=[f"{h:02d}" for h in table.columns], y=[safe(m) for m in table.index],
                       colorscale="Blues", colorbar=dict(title="weight"))
    figure.update_xaxes(title="hour of day (UTC)", type="category")  # whole hours, never 17.6
    return _layout(figure, "Where the routing weight goes: mean weight per model by hour (predicted by the router)", 260)
