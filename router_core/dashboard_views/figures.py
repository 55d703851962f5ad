"""Plotly figures, display tables and captions for the dashboard. Plotly and pandas only: no Streamlit here.

User text (queries, words, model names from uploads) is HTML-escaped before it reaches a figure, because
plotly renders a subset of HTML in labels and hover text; and Markdown-escaped (escape_markdown) before it reaches
any Streamlit text, label, metric or message, because those render Markdown.
"""
from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from router_core.router import RouteDecision, SweepResult
from router_core.units import usd

CHOSEN, OTHER = "#d62728", "#8c9fb7"


def safe(text) -> str:
    """For plotly labels and hover text: HTML-escaped."""
    return html.escape(str(text), quote=False)


MARKDOWN_SPECIALS = frozenset("\\`*[]<>~|$")  # emphasis, code, links/images, raw HTML/autolinks, strikethrough, tables, math
LINE_START_MARKER = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")  # headings, quotes, lists, setext underlines
ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|\w+);", re.IGNORECASE)
BARE_LINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)  # where GFM would autolink a bare URL/email
# Streamlit's own directives: emoji and icon shortcodes (:rocket:, :material/warning:) and colours (:red[...]).
DIRECTIVE = re.compile(r"(?<=:)(?=[A-Za-z0-9_+\-/]+(:|\[))")
INVISIBLE_BREAK = "\u200b"  # splits a bare URL or address so that it stays text; invisible when shown
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def escape_markdown(text) -> str:
    """`text` (a model, file or column name, or a message quoting one) shown literally by Streamlit's Markdown.

    Markup characters are backslash-escaped (rendered as themselves), control characters are shown as escapes, bare
    URLs/e-mail addresses are kept from becoming links and Streamlit's shortcodes (:rocket:) from becoming emoji or
    icons; ordinary names (gpt-4o-mini, llama_3_70b) come out unchanged.
    """
    text = "".join(ch.encode("unicode_escape").decode("ascii") if ch in BIDI_CONTROLS or ord(ch) < 32 or 127 <= ord(ch) < 160
                   else ch for ch in str(text))
    out = []
    for i, ch in enumerate(text):
        intraword = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
        if ch in MARKDOWN_SPECIALS or (ch == "_" and not intraword) or (ch == "&" and ENTITY.match(text, i)):
            out.append("\\")
        out.append(ch)
    text = LINE_START_MARKER.sub(lambda m: f"{m.group(1)}{m.group(2)[:-1]}\\{m.group(2)[-1]}", "".join(out))
    return DIRECTIVE.sub(INVISIBLE_BREAK, BARE_LINK.sub(INVISIBLE_BREAK, text))


def called_as(decision: RouteDecision, name: str) -> str:
    """How a model takes part in this decision: "answers", "answers and merges", "merges" (soft routing's aggregator)
    or "" (not called)."""
    answers = name in decision.candidates
    merges = len(decision.candidates) > 1 and name == decision.aggregator
    return "answers and merges" if answers and merges else "answers" if answers else "merges" if merges else ""


def decision_table(decision: RouteDecision) -> pd.DataFrame:
    """Per candidate: routing weight, predicted quality and cost (USD), utility, cost multiple of the cheapest."""
    per = pd.DataFrame(decision.per_candidate).T
    cheapest = per["predicted_cost_usd"].min()
    table = pd.DataFrame({"called": [called_as(decision, n) for n in per.index],
                          "routing weight": per["weight"].round(3), "predicted quality": per["predicted_quality"].round(3),
                          "predicted cost (USD)": per["predicted_cost_usd"].map(lambda x: f"{x:.6f}"),
                          "× cheapest": (per["predicted_cost_usd"] / cheapest).round(1),
                          f"utility at λ={decision.lam:.2f}": per["utility"].round(3)})
    table.index.name = "model"
    return table


def prediction_bars(decision: RouteDecision) -> go.Figure:
    """Four small bar charts: routing weight, predicted quality, predicted cost, λ-utility; called models in red."""
    per = decision.per_candidate
    names = list(per)
    colours = [CHOSEN if called_as(decision, n) else OTHER for n in names]
    panels = [("routing weight", "weight", "{:.2f}"), ("predicted quality", "predicted_quality", "{:.2f}"),
              ("predicted cost (USD)", "predicted_cost_usd", "${:.5f}"), (f"utility at λ={decision.lam:.2f}", "utility", "{:.3f}")]
    figure = make_subplots(rows=1, cols=4, subplot_titles=[p[0] for p in panels], horizontal_spacing=0.06)
    for column, (_, key, fmt) in enumerate(panels, start=1):
        values = [per[n][key] for n in names]
        figure.add_bar(x=[safe(n) for n in names], y=values, marker_color=colours, text=[fmt.format(v) for v in values],
                       textposition="outside", showlegend=False, row=1, col=column, cliponaxis=False)
    figure.update_layout(height=330, margin=dict(t=40, b=10, l=10, r=10))
    return figure


def attention_heatmap(words: pd.DataFrame) -> go.Figure:
    """Word × candidate attention (explain.word_attention), words top to bottom as typed."""
    figure = go.Figure(go.Heatmap(z=words.to_numpy(), x=[safe(c) for c in words.columns], y=[safe(w) for w in words.index],
                                  colorscale="Blues", zmin=0, zmax=1, colorbar=dict(title="attention"),
                                  hovertemplate="word %{y}<br>model %{x}<br>attention %{z:.3f}<extra></extra>"))
    figure.update_yaxes(autorange="reversed", type="category")
    figure.update_layout(height=max(260, 22 * len(words) + 80), margin=dict(t=10, b=10, l=10, r=10))
    return figure


def pareto_figure(curves: dict[str, pd.DataFrame], lam: float, router_name: str = "cross-attention",
                  soft: pd.DataFrame | None = None, highlight: tuple[float, float] | None = None,
                  best_baseline: str | None = None, show_all: bool = True) -> go.Figure:
    """Measured mean quality against mean cost: the router's λ curve, baselines, single models and the oracle.

    Args:
        best_baseline: drawn solid and named "best baseline" in the legend.
        show_all: False leaves out every other learned baseline (single models, the oracle and random stay).
    """
    figure = go.Figure()
    labels = []  # (cost, quality, text) of each single model, written beside its marker once the axes are known
    for name, curve in curves.items():
        if name == router_name or len(curve) == 0:
            continue
        if name == best_baseline:
            figure.add_scatter(x=curve["cost"], y=curve["quality"], mode="lines", line=dict(width=2.5, color="#1f77b4"),
                               name=f"{safe(name)} (best baseline)")
            continue
        reference = name.startswith("single:") or name in ("call-every", "oracle", "random")
        if not (show_all or reference):
            continue
        if name.startswith("single:") or name == "call-every":
            label = name.removeprefix("single:")
            error = None
            if "quality_low" in curve.columns:  # call-every: an estimated band
                error = dict(type="data", symmetric=False, array=[0.0], arrayminus=(curve["quality"] - curve["quality_low"]).tolist())
                label = "call every model (estimate)"
            figure.add_scatter(x=curve["cost"], y=curve["quality"], mode="markers", marker=dict(size=11, symbol="diamond", color="#444"),
                               error_y=error, name=safe(label), showlegend=False, cliponaxis=False)
            labels.append((float(curve["cost"].iloc[0]), float(curve["quality"].iloc[0]), safe(label)))
            continue
        dash = "dash" if name == "oracle" else "dot"
        label = "oracle (upper bound)" if name == "oracle" else name
        figure.add_scatter(x=curve["cost"], y=curve["quality"], mode="lines", line=dict(dash=dash, width=1.2), name=safe(label),
                           opacity=0.8 if reference else 0.45)
    if soft is not None:
        figure.add_scatter(x=soft["cost"], y=soft["quality"], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
        figure.add_scatter(x=soft["cost"], y=soft["quality_low"], mode="lines", fill="tonexty", line=dict(width=0),
                           fillcolor="rgba(255,127,14,0.25)", name="soft top-2 (estimated band)")
    router = curves[router_name]
    figure.add_scatter(x=router["cost"], y=router["quality"], mode="lines+markers", marker=dict(size=4),
                       line=dict(width=3, color=CHOSEN), name="CrossRoute (over λ)",
                       customdata=router["lam"], hovertemplate="λ=%{customdata:.2f}<br>$%{x:.6f}<br>quality %{y:.3f}<extra></extra>")
    if highlight is not None:
        figure.add_scatter(x=[highlight[0]], y=[highlight[1]], mode="markers", marker=dict(size=18, color=CHOSEN, line=dict(width=2, color="white")),
                           name=f"λ = {lam:.2f}")
    figure.update_layout(xaxis_title="mean cost per request (USD, measured)", yaxis_title="mean quality (measured)",
                         height=520, margin=dict(t=30, b=10, l=10, r=30), legend=dict(orientation="h", y=-0.15))
    costs, qualities = _plotted_extent(figure)
    low, high, pad = dollar_log_axis(figure, costs)
    span = max(qualities.max() - qualities.min(), 0.02)
    figure.update_yaxes(range=[qualities.min() - 0.08 * span, qualities.max() + 0.06 * span])  # room for every label
    decades_per_px = (high - low + 2 * pad) / 800  # a typical plot width: enough to tell whether a label fits
    for cost, quality, text in labels:
        # Below and beside the marker, where a dominated point has no curve, on a white ground so a line never runs
        # through the text; to its left where the text would run past the right edge.
        right = np.log10(cost) + (9 + 7 * len(text)) * decades_per_px > high + pad
        figure.add_annotation(x=np.log10(cost), y=quality, text=text, showarrow=False, yanchor="top", yshift=-7,
                              xanchor="right" if right else "left", xshift=-9 if right else 9,
                              bgcolor="rgba(255,255,255,0.75)", font=dict(size=12, color="#444"))
    return figure


def dollar_log_axis(figure: go.Figure, costs: np.ndarray) -> tuple[float, float, float]:
    """A log cost axis over `costs` with a little room each side and dollar ticks; returns its data range in decades
    and the padding."""
    low, high = np.log10(costs.min()), np.log10(costs.max())
    pad = max(high - low, 0.3) * 0.04
    ticks = money_ticks(costs.min(), costs.max())
    figure.update_xaxes(type="log", range=[low - pad, high + pad], tickvals=ticks,
                        ticktext=["$" + np.format_float_positional(t, trim="-") for t in ticks])  # $0.00005, not 5e-05
    return low, high, pad


def money_ticks(low: float, high: float) -> list[float]:
    """Dollar ticks at 1, 2 and 5 times a power of ten from low to high (1 alone when that range spans many decades),
    so a log axis is labelled "$0.0001, $0.0002, $0.0005" and never with a row of bare digits."""
    decades = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    steps = (1, 2, 5) if np.log10(high / low) <= 3 else (1,)
    ticks = [step * 10.0 ** d for d in decades for step in steps]
    inside = [t for t in ticks if low * 0.999 <= t <= high * 1.001]
    return inside if len(inside) >= 2 else [t for t in ticks if low / 10 <= t <= high * 10]


def _plotted_extent(figure: go.Figure) -> tuple[np.ndarray, np.ndarray]:
    """Every plotted cost (positive, for the log axis) and quality, error bars included."""
    costs, qualities = [], []
    for trace in figure.data:
        x, y = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
        keep = np.isfinite(x) & np.isfinite(y) & (x > 0)
        costs.append(x[keep])
        qualities.append(y[keep])
        if trace.error_y is not None and trace.error_y.arrayminus is not None:
            qualities.append(y[keep] - np.asarray(trace.error_y.arrayminus, dtype=float)[keep])
    return np.concatenate(costs), np.concatenate(qualities)


def hourly_figure(by_hour: pd.DataFrame, alternatives: dict[str, pd.DataFrame] | None = None,
                  logged: pd.Series | None = None, timezone: str = "UTC") -> go.Figure:
    """Predicted cost per hour of day (bars) and mean predicted quality (line), with constant-λ alternatives
    and, where the log has costs, what it recorded (measured)."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    hours = [f"{h:02d}" for h in by_hour.index]
    figure.add_bar(x=hours, y=by_hour["predicted_cost_usd"], name="schedule: cost (predicted)", marker_color=CHOSEN)
    for name, table in (alternatives or {}).items():
        figure.add_scatter(x=[f"{h:02d}" for h in table.index], y=table["predicted_cost_usd"], mode="lines", name=safe(f"{name}: cost"),
                           line=dict(dash="dot"))
    if logged is not None:
        figure.add_scatter(x=[f"{h:02d}" for h in logged.index], y=logged.to_numpy(), mode="lines", name="as logged: cost (measured)",
                           line=dict(color="#444", width=2))
    figure.add_scatter(x=hours, y=by_hour["predicted_quality"], mode="lines+markers", name="schedule: quality (predicted)",
                       line=dict(color="#2ca02c"), secondary_y=True)
    figure.update_yaxes(title_text="USD per hour-of-day, summed over the log", secondary_y=False)
    figure.update_yaxes(title_text="mean predicted quality", range=[0, 1], tickformat=".1f", dtick=0.2, secondary_y=True)
    figure.update_layout(xaxis_title=f"hour of day ({safe(timezone)})", height=420, margin=dict(t=20, b=10, l=10, r=10), legend=dict(orientation="h", y=-0.2))
    return figure


def mix_figure(shares: pd.Series, title: str) -> go.Figure:
    """Share of requests per model."""
    figure = go.Figure(go.Bar(x=[safe(n) for n in shares.index], y=shares.to_numpy(), text=[f"{v:.0%}" for v in shares],
                              textposition="outside", marker_color=OTHER, cliponaxis=False))
    figure.update_layout(title=safe(title), yaxis=dict(tickformat=".0%", range=[0, max(1.0, float(np.max(shares)) * 1.15)]),
                         height=300, margin=dict(t=40, b=10, l=10, r=10))
    return figure


def predicted_curves_figure(sweeps: dict[str, SweepResult]) -> go.Figure:
    """Mean predicted cost against mean predicted quality over a λ sweep, one line per router (e.g. before/after)."""
    figure = go.Figure()
    for label, sweep in sweeps.items():
        cost, quality = sweep.predicted_means()
        figure.add_scatter(x=cost, y=quality, mode="lines+markers", name=safe(label), customdata=sweep.lams,
                           hovertemplate="λ=%{customdata:.2f}<br>$%{x:.6f}<br>quality %{y:.3f}<extra></extra>")
    figure.update_layout(xaxis_title="mean predicted cost (USD)", yaxis_title="mean predicted quality", height=420)
    if figure.data:
        dollar_log_axis(figure, _plotted_extent(figure)[0])
    return figure


def single_models(data) -> pd.DataFrame:
    """Per candidate of a labelled set: mean measured quality and cost (USD) if it answered every query."""
    return pd.DataFrame({"quality": data.quality.mean(axis=0), "cost": data.cost.mean(axis=0)}, index=list(data.candidates))


def schedule_table(reports: dict) -> pd.DataFrame:
    """One row per schedule.ScheduleReport (by label): monthly cost and quality (predicted), savings vs the best model;
    plus the log's own spend (measured) when the first report has it."""
    rows = []
    for name, report in reports.items():
        t = report.totals
        rows.append({"schedule": name, "monthly cost": usd(t["monthly_cost_usd"]) + " (predicted)",
                     "quality": f"{t['predicted_quality']:.3f} (predicted)",
                     f"savings vs all to {t['best_model']}": f"{t['savings_vs_best_fraction']:.0%}"})
    first = next(iter(reports.values()), None)
    if first is not None and "logged_monthly_cost_usd" in first.totals:
        # The log records what was spent, not how good the answers were: its quality is unknown, not zero.
        rows.append({"schedule": "as logged", "monthly cost": usd(first.totals["logged_monthly_cost_usd"]) + " (measured)",
                     "quality": "not in the log", f"savings vs all to {first.totals['best_model']}": "–"})
    return pd.DataFrame(rows)


def router_captions(router) -> list[str]:
    """Sidebar lines on a router: size and training, its validation figures (measured), and how quality is predicted."""
    training = router.training
    backend = "ONNX Runtime " + router.backend.removeprefix("onnx-") if router.backend != "torch" else "torch"
    lines = [f"{len(router.candidates)} candidates · trained on {training.n_train} queries in {training.seconds:.0f} s · "
             f"{training.best_epoch} epochs · scored with {backend}"]
    validation = training.validation or {}
    if validation:
        where = (f"Cross-fitted on its {training.n_validation} training queries (measured, each predicted by a network "
                 f"that never saw it)" if (training.quality_stage or {}).get("folds") else
                 f"On its {training.n_validation} validation queries (measured)")
        lines.append(f"{where}: AIQ {validation.get('aiq', float('nan')):.3f}, "
                     f"quality error (MAE) {validation.get('quality_mae', float('nan')):.3f}")
    added = [entry.get("candidate") for entry in training.added or () if isinstance(entry, dict)]
    if added:
        lines.append(f"Added since training: {', '.join(map(str, added))} (from a few labelled queries each); the "
                     "figures above are of the router before, on its original models")
    stage = router.parts.pipeline.quality
    weights = stage.weights() if stage is not None else None
    if weights:
        task_type = (f"{weights['task_type_weight']:.1f}·model's average on the query's task type (one of "
                     f"{len(weights['task_types'])}, predicted from the text) + " if weights["task_type_weight"] > 0 else "")
        lines.append(f"Predicted quality = {weights['network_weight']:.1f}·network + {weights['neighbour_weight']:.1f}·mean of "
                     f"{weights['n_neighbours']} nearest training queries + {weights['linear_weight']:.1f}·linear fit + "
                     f"{task_type}{weights['prior_weight']:.1f}·model's average (weights chosen out of fold)")
    return lines


def lam_by_hour_figure(by_hour: pd.DataFrame, timezone: str = "UTC") -> go.Figure:
    """The schedule's λ at each hour of the day (mean over weekdays when they differ), as a step line."""
    figure = go.Figure(go.Scatter(x=by_hour.index, y=by_hour["mean_lam"], mode="lines+markers", line=dict(shape="hv", color=CHOSEN),
                                  hovertemplate="%{x}:00: λ=%{y:.2f}<extra></extra>", name="λ"))
    figure.update_layout(height=220, margin=dict(t=30, b=10, l=10, r=10), title="λ by hour of day (0 = quality first, 1 = cheapest)",
                         xaxis_title=f"hour of day ({safe(timezone)})", yaxis=dict(range=[-0.05, 1.05], title="λ"), showlegend=False)
    return figure


def as_text(frame: pd.DataFrame, formats: dict[str, str], missing: str = "–") -> pd.DataFrame:
    """The table with each listed column formatted as text ("{:.3f}", "{:.0%}", "${:.2f}", …) and missing cells written
    as `missing`: a grid widget would show "None" for them."""
    shown = frame.copy()
    for column, fmt in formats.items():
        if column in shown.columns:
            shown[column] = [missing if pd.isna(v) else fmt.format(v) for v in shown[column]]
    return shown


def controller_lambda_figure(requests: pd.DataFrame, constant_lam: float | None, timezone: str = "UTC") -> go.Figure:
    """The budget controller's λ by hour of day (mean, and the range over days) beside the offline constant-λ fit."""
    hours = requests.assign(hour=requests["time"].dt.hour, day=requests["time"].dt.normalize())
    per_day = hours.groupby(["day", "hour"])["lam"].mean().reset_index()
    summary = per_day.groupby("hour")["lam"].agg(["mean", "min", "max"]).reindex(range(24))
    figure = go.Figure()
    figure.add_scatter(x=summary.index, y=summary["max"], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
    figure.add_scatter(x=summary.index, y=summary["min"], mode="lines", line=dict(width=0), fill="tonexty",
                       fillcolor="rgba(31,119,180,0.2)", name="controller: range over days")
    figure.add_scatter(x=summary.index, y=summary["mean"], mode="lines+markers", name="controller: mean λ", line_color="#1f77b4")
    if constant_lam is not None:
        figure.add_scatter(x=[0, 23], y=[constant_lam, constant_lam], mode="lines", line=dict(dash="dash", color=CHOSEN),
                           name=f"constant λ fitted offline ({constant_lam:.2f})")
    figure.update_layout(title="λ by hour of day under the budget controller", height=320, margin=dict(l=50, r=20, t=50, b=40),
                         legend=dict(orientation="h", y=-0.25))
    figure.update_xaxes(title=f"hour ({safe(timezone)})", dtick=2)
    figure.update_yaxes(title="λ", range=[-0.02, 1.02])
    return figure
