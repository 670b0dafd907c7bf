"""Scene -> image. Hard-edged (no anti-aliasing), so every pixel is exactly one palette colour and perception
can invert the render without error."""

from __future__ import annotations

import numpy as np
from PIL import Image

from mirabench.shapes.scene import BACKGROUND_COLORS, GRID, MIN_SIZE, OBJECT_COLORS, Obj, Scene

__all__ = ["render", "shape_mask"]


def shape_mask(kind: str, dx: np.ndarray, dy: np.ndarray, radius: float) -> np.ndarray:
    """Which pixel centres (offsets dx, dy from the object's centre) the shape covers."""
    if kind == "square":
        return (np.abs(dx) <= radius) & (np.abs(dy) <= radius)
    if kind == "circle":
        return dx * dx + dy * dy <= radius * radius
    if kind == "triangle":  # apex up, base on the bottom edge of the bounding box
        return (dy <= radius) & (np.abs(dx) <= (dy + radius) / 2)
    raise ValueError(f"unknown shape kind {kind!r}")


def _paint(canvas: Image.Image, o: Obj, unit: float) -> None:
    size = canvas.size[0]
    cx, cy, radius = o.x * unit, o.y * unit, o.r * unit
    x0, x1 = max(int(cx - radius) - 1, 0), min(int(cx + radius) + 2, size)
    y0, y1 = max(int(cy - radius) - 1, 0), min(int(cy + radius) + 2, size)
    dx = np.arange(x0, x1)[None, :] + 0.5 - cx
    dy = np.arange(y0, y1)[:, None] + 0.5 - cy
    mask = Image.fromarray(shape_mask(o.kind, dx, dy, radius).astype(np.uint8) * 255, "L")
    canvas.paste(OBJECT_COLORS[o.color], (x0, y0), mask)


def render(scene: Scene, size: int = 256) -> Image.Image:
    """A size x size RGB image of the scene."""
    if size < MIN_SIZE:
        raise ValueError(f"shapes images must be at least {MIN_SIZE} px wide for exact perception, got {size}")
    canvas = Image.new("RGB", (size, size), BACKGROUND_COLORS[scene.background])
    unit = size / GRID
    for o in scene.objects:
        _paint(canvas, o, unit)
    return canvas
