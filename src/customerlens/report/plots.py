"""The report's plots: free functions ``(data, ax=None) -> Axes`` over what ``data.py`` returns.

No pyplot: each plot draws on a :class:`~matplotlib.figure.Figure` of its own (rendered by the
Agg canvas), so building a report leaves no global state behind and needs no display.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

#: colours of the revenue stack: tracked, recovered by resolution, still untracked
REVENUE_COLOURS = ("#2f5d8a", "#3fa66a", "#c9ced6")


def new_axes(width: float = 8.0, height: float = 3.8) -> Axes:
    """Axes on a fresh figure of ``width`` × ``height`` inches."""
    return Figure(figsize=(width, height), layout="constrained").add_subplot()


def to_png(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def figure_of(ax: Axes) -> Figure:
    """The (top-level) figure an Axes belongs to."""
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    return figure


def _thousands(ax: Axes, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _pos: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def revenue_gap(months: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Net product revenue per month: tracked, recovered by resolution, still untracked."""
    ax = ax or new_axes()
    x = np.arange(len(months))
    tracked = months["tracked"].to_numpy(float)
    recovered = months["recovered"].to_numpy(float)
    rest = months["untracked"].to_numpy(float) - recovered
    labels = ("tracked (shop's customer id)", "recovered by resolution", "untracked, not recovered")
    bottom = np.zeros(len(months))
    for values, colour, label in zip(
        (tracked, recovered, rest), REVENUE_COLOURS, labels, strict=True
    ):
        ax.bar(x, values, bottom=bottom, color=colour, label=label, width=0.8)
        bottom = bottom + values
    step = max(1, len(months) // 12)
    ax.set_xticks(x[::step], months["month"].astype(str).to_numpy()[::step], rotation=45)
    _thousands(ax)
    ax.set_ylabel("net product revenue")
    ax.set_title("Revenue by month: who the shop can tie it to")
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    return ax


def rfm_sizes(sizes: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Customers per named RFM segment, largest on top."""
    ax = ax or new_axes(height=max(2.5, 0.35 * len(sizes) + 1))
    ordered = sizes.iloc[::-1]
    y = np.arange(len(ordered))
    ax.barh(y, ordered["customers"].to_numpy(float), color="#2f5d8a")
    ax.set_yticks(y, ordered["segment"].astype(str).to_list())
    for yi, n, share in zip(y, ordered["customers"], ordered["share"], strict=True):
        ax.annotate(
            f" {int(n):,} ({share:.0%})", (float(n), float(yi)), va="center", fontsize="small"
        )
    ax.margins(x=0.15)
    _thousands(ax, "x")
    ax.set_xlabel("customers")
    ax.set_title("RFM segments")
    return ax


def clv_histogram(bins: pd.DataFrame, horizon_days: int | None, ax: Axes | None = None) -> Axes:
    """Customers by CLV expected value over the horizon (log-spaced bins)."""
    ax = ax or new_axes()
    # the bins are geometric: rebuild every edge (empty bins are absent from the data)
    count = int(bins["bin"].max()) + 1
    edges = np.geomspace(float(bins["low"].iloc[0]), float(bins["high"].iloc[-1]), count + 1)
    counts = np.zeros(count)
    counts[bins["bin"].to_numpy(int)] = bins["customers"].to_numpy(float)
    ax.stairs(counts, edges, fill=True, color="#2f5d8a", alpha=0.85)
    ax.set_xscale("log")
    horizon = f" over {horizon_days} days" if horizon_days else ""
    ax.set_xlabel(f"expected value{horizon} (log scale; the lowest 1% are in the first bar)")
    ax.set_ylabel("customers")
    ax.set_title("Customer lifetime value")
    return ax


def reliability(model: pd.DataFrame, baseline: pd.DataFrame | None, ax: Axes | None = None) -> Axes:
    """Observed churn rate against predicted probability, per bin, beside the diagonal."""
    ax = ax or new_axes(width=6.0, height=5.0)
    ax.plot([0, 1], [0, 1], color="#9aa5b1", linestyle="--", linewidth=1, label="perfect")
    curves = [(model, "churn model (calibrated)", "#c0392b", "o")]
    if baseline is not None and not baseline.empty:
        curves.append((baseline, "CLV model P(no purchase)", "#2f5d8a", "s"))
    for frame, label, colour, marker in curves:
        ax.plot(frame["predicted"], frame["observed"], color=colour, marker=marker, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("predicted probability of no purchase in the horizon")
    ax.set_ylabel("observed share without a purchase")
    ax.set_title("Churn reliability (out of time)")
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    return ax


def segment_heatmap(profiles: pd.DataFrame, features: list[str], ax: Axes | None = None) -> Axes:
    """Each segment's mean percentile rank per feature (0.5 is the population's middle)."""
    ax = ax or new_axes(height=max(2.5, 0.6 * len(profiles) + 1.6))
    ranks = profiles[[f"{f}_rank" for f in features]].to_numpy(float)
    image = ax.imshow(ranks, cmap="RdBu_r", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(np.arange(len(features)), features, rotation=35, ha="right")
    ax.set_yticks(np.arange(len(profiles)), profiles["name"].astype(str).to_list())
    for (row, col), value in np.ndenumerate(ranks):
        if np.isfinite(value):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize="x-small")
    figure_of(ax).colorbar(image, ax=ax, label="mean percentile rank")
    ax.set_title("Segment profiles: where each segment sits in the population")
    return ax


def pca_map(points: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Customers on the first two principal components, coloured by segment."""
    ax = ax or new_axes(width=7.0, height=5.5)
    names = sorted(points["segment_name"].fillna("(none)").astype(str).unique())
    colours = [f"C{i % 10}" for i in range(len(names))]
    named = points["segment_name"].fillna("(none)").astype(str)
    size = 4.0 if len(points) > 5_000 else 10.0
    for name, colour in zip(names, colours, strict=True):
        mine = points[named == name]
        ax.scatter(
            mine["pca_x"], mine["pca_y"], s=size, alpha=0.5, color=colour, label=name, linewidths=0
        )
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.set_title("Customers by behaviour (PCA), coloured by segment")
    ax.legend(loc="best", fontsize="small", markerscale=3, frameon=False)
    return ax
