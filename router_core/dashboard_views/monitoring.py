"""Plotly figures of the Monitoring page (no Streamlit here). Model names come from the log: HTML-escaped."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from router_core.dashboard_views.figures import safe


def _layout(figure: go.Figure, title: str, height: int = 300) -> go.Figure:
    figure.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=50, b=40), legend=dict(orientation="h", y=-0.2))
    return figure


def traffic_figure(buckets: pd.DataFrame) -> go.Figure:
    """Requests per minute (measured), with the fallen-back and failed ones beside."""
    figure = go.Figure()
    figure.add_bar(x=buckets["time"], y=buckets["requests_per_minute"], name="requests per minute", marker_color="#1f77b4")
    for column, name, colour in (("fell_back", "fell back", "#ff7f0e"), ("failed", "failed", "#d62728")):
        if buckets[column].sum() > 0:
            figure.add_scatter(x=buckets["time"], y=buckets[column], name=f"{name} (requests)", mode="lines", line_color=colour)
    return _layout(figure, "Traffic (measured from the log)")


def mix_over_time_figure(mix: pd.DataFrame) -> go.Figure:
    share = mix.pivot_table(index="time", columns="model", values="requests", fill_value=0)
    share = share.div(share.sum(axis=1), axis=0)
    figure = go.Figure()
    for model in share.columns:
        figure.add_scatter(x=share.index, y=share[model], name=safe(model), mode="lines", stackgroup="mix")
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    return _layout(figure, "Model mix: share of requests answered by each model (measured)")


def lambda_figure(sources: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for source, part in sources.groupby("source"):
        figure.add_scatter(x=part["time"], y=part["mean_lambda"], name=f"λ from {safe(source)}", mode="lines+markers",
                           marker_size=3)
    figure.update_yaxes(range=[-0.02, 1.02], title="mean λ")
    return _layout(figure, "λ over time, by where it came from (recorded per request)")


def spend_figure(buckets: pd.DataFrame, daily_budget: float | None, replay: bool = False) -> go.Figure:
    """Cumulative spend per UTC day (measured; for a replay, as the replay charged it), against the daily budget."""
    frame = buckets[["time", "spend_usd"]].copy()
    frame["day"] = frame["time"].dt.normalize()
    frame["cumulative"] = frame.groupby("day")["spend_usd"].cumsum()
    figure = go.Figure()
    kind = "replayed" if replay else "measured"
    figure.add_scatter(x=frame["time"], y=frame["cumulative"], name=f"spend so far today ({kind}, USD)", mode="lines")
    if daily_budget:
        figure.add_scatter(x=frame["time"], y=[daily_budget] * len(frame), name=f"daily budget ${daily_budget:,.2f}",
                           mode="lines", line=dict(dash="dash", color="#d62728"))
    figure.update_yaxes(title="USD", tickprefix="$")
    return _layout(figure, "Spend against the daily budget (each UTC day from zero)")


def weights_figure(weights: pd.DataFrame) -> go.Figure:
    table = weights.pivot_table(index="model", columns="hour", values="weight")
    figure = make_subplots()
    figure.add_heatmap(z=table.to_numpy(), x=[f"{h:02d}" for h in table.columns], y=[safe(m) for m in table.index],
                       colorscale="Blues", colorbar=dict(title="weight"))
    figure.update_xaxes(title="hour of day (UTC)")
    return _layout(figure, "Where the routing weight goes: mean weight per model by hour (predicted by the router)", 260)
