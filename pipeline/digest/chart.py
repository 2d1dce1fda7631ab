"""The digest's chart: articles per theme and day over the last 14 days, as a PNG.

Uses matplotlib's object API with the Agg canvas (no pyplot global state), so it is safe in
threads and never needs a display.
"""

from __future__ import annotations

import io

from pipeline.digest.gather import theme_title
from pipeline.digest.model import DailySeries

# Colour-blind-safe (Okabe-Ito) colours, fixed per theme so the chart looks the same every day.
THEME_COLOURS = {"chips": "#0072B2", "open_source": "#009E73", "sanctions": "#D55E00", "other": "#999999"}
_EXTRA_COLOURS = ("#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

WIDTH_IN, HEIGHT_IN, DPI = 5.0, 2.2, 150  # 750 x 330 px: sharp at 600 px wide, legible on a phone
FONT_PT = 9
_MARKERS = ("o", "s", "^", "D", "v", "P")


def theme_colour(theme: str, index: int) -> str:
    return THEME_COLOURS.get(theme) or _EXTRA_COLOURS[index % len(_EXTRA_COLOURS)]


def render_chart(series: DailySeries) -> bytes:
    """PNG bytes of one line per theme; the digest's day (the last) is marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = list(range(len(series.days)))
    for i, (theme, counts) in enumerate(series.counts.items()):
        colour = theme_colour(theme, i)
        marker = _MARKERS[i % len(_MARKERS)]  # distinct shapes: overlapping lines stay apart
        ax.plot(x, counts, marker=marker, markersize=3.5, linewidth=1.8, color=colour, label=theme_title(theme))
        if counts:
            ax.plot([x[-1]], [counts[-1]], marker=marker, markersize=7, color=colour)
    if x:
        ax.axvspan(x[-1] - 0.5, x[-1] + 0.5, color="#f2f2f2", zorder=0)
    ax.set_xticks(x)
    # every other day, counted back from the digest's day so that day is always labelled
    ax.set_xticklabels([d.strftime("%d.%m") if (len(x) - 1 - i) % 2 == 0 else ""
                        for i, d in enumerate(series.days)], fontsize=FONT_PT)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    ax.tick_params(axis="y", labelsize=FONT_PT)
    ax.set_ylim(bottom=0)
    ax.set_xlim(-0.5, max(len(x) - 0.5, 0.5))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    ax.set_ylabel("articles", fontsize=FONT_PT)
    if series.counts:
        ax.legend(loc="upper left", fontsize=FONT_PT, frameon=False, ncol=len(series.counts))
    fig.tight_layout(pad=0.4)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
