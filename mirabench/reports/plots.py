"""Inline SVG plots for the report (no JavaScript library, no CDN): the step-budget curve and the stop-step histogram.

Every label is escaped here, because the SVG is inserted into the page as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["PALETTE", "bar_svg", "color", "line_svg"]

PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
]

Series = tuple[str, Sequence[tuple[float, float]]]


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _frame(width: int, height: int, pad: int, x_label: str, y_label: str, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>',
        f'<line x1="{pad}" y1="{pad / 2}" x2="{pad}" y2="{height - pad}" stroke="#888"/>',
        f'<text x="{(width - pad) / 2 + pad / 2}" y="{height - 6}" font-size="11" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text x="12" y="{height / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {height / 2})">{escape(y_label)}</text>',
    ]


def line_svg(series: Sequence[Series], x_label: str, y_label: str, width: int = 420, height: int = 240) -> str | None:
    """One polyline per (name, points) series, colours in series order; None when there is nothing to draw."""
    drawn = [(i, name, sorted(pts)) for i, (name, pts) in enumerate(series) if pts]
    if not drawn:
        return None
    xs = [x for _, _, pts in drawn for x, _ in pts]
    ys = [y for _, _, pts in drawn for _, y in pts]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = 44

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad)

    def sy(y: float) -> float:
        return height - pad - (y - y0) / (y1 - y0) * (height - 1.5 * pad)

    parts = _frame(width, height, pad, x_label, y_label, f"{y_label} vs {x_label}")
    for x in sorted(set(xs)):
        parts.append(f'<text x="{sx(x):.1f}" y="{height - pad + 15}" font-size="11" text-anchor="middle">{x:g}</text>')
    for y in (y0, (y0 + y1) / 2, y1):
        parts.append(f'<text x="{pad - 4}" y="{sy(y) + 4:.1f}" font-size="11" text-anchor="end">{y:.3g}</text>')
    for i, name, pts in drawn:
        c = color(i)
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(
            f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{path}"><title>{escape(name)}</title>'
        )
        parts.append("</polyline>")
        parts.extend(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{c}"><title>{escape(name)}: {y:.4g} at {x:g}'
            "</title></circle>"
            for x, y in pts
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_svg(
    series: Sequence[tuple[str, dict[int, float]]], x_label: str, y_label: str, width: int = 420, height: int = 240
) -> str | None:
    """Grouped bars: for each x, one bar per series (share of that series' samples)."""
    xs = sorted({x for _, counts in series for x in counts})
    if not xs:
        return None
    pad = 44
    y1 = max(v for _, counts in series for v in counts.values()) or 1.0
    group = (width - 2 * pad) / len(xs)
    bar = max(1.0, (group * 0.8) / max(1, len(series)))

    def sy(y: float) -> float:
        return height - pad - y / y1 * (height - 1.5 * pad)

    parts = _frame(width, height, pad, x_label, y_label, f"{y_label} by {x_label}")
    for j, x in enumerate(xs):
        gx = pad + j * group + group * 0.1
        parts.append(
            f'<text x="{gx + group * 0.4:.1f}" y="{height - pad + 15}" font-size="11" text-anchor="middle">{x}</text>'
        )
        for i, (name, counts) in enumerate(series):
            v = counts.get(x, 0.0)
            top = sy(v)
            parts.append(
                f'<rect x="{gx + i * bar:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{height - pad - top:.1f}" '
                f'fill="{color(i)}"><title>{escape(name)}: {v:.1%} stopped after {x}</title></rect>'
            )
    for y in (0.0, y1 / 2, y1):
        parts.append(f'<text x="{pad - 4}" y="{sy(y) + 4:.1f}" font-size="11" text-anchor="end">{y:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)
