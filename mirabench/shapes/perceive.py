"""Image -> scene: snap pixels to the palette, find connected blobs, read kind, size and position off each.

Exact on renders (`perceive(render(s)) == s`), and total on anything else: a photo or noise gives some scene
(tiny blobs are ignored), never an exception. `agreement` tells whether an image really is a shapes render.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
from PIL import Image

from mirabench.shapes.render import render
from mirabench.shapes.scene import BACKGROUND_COLORS, GRID, MIN_SIZE, OBJECT_COLORS, SIZES, Obj, Scene

__all__ = ["PALETTE", "agreement", "labels", "perceive"]

PALETTE: tuple[str, ...] = (*OBJECT_COLORS, *BACKGROUND_COLORS)
_N_OBJECT = len(OBJECT_COLORS)
_SIZE_NAMES = tuple(SIZES)
_HALF_EXTENTS = np.array(list(SIZES.values()), dtype=float)


def _palette_image() -> Image.Image:
    """A P-mode image whose 256-entry palette repeats ours (index % len(PALETTE) is the colour)."""
    rgb = [v for name in PALETTE for v in {**OBJECT_COLORS, **BACKGROUND_COLORS}[name]]
    image = Image.new("P", (1, 1))
    image.putpalette((rgb * (256 // len(PALETTE) + 1))[:768])
    return image


_PALETTE_IMAGE = _palette_image()
_MEMO: dict[bytes, Scene] = {}
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 4096


def labels(image: Image.Image) -> np.ndarray:
    """Palette index of every pixel (H x W ints): palette colours map to themselves, any other colour to the
    nearest palette colour (Pillow's quantizer, in C: a quarter of a millisecond for 256 x 256)."""
    quantized = image.convert("RGB").quantize(palette=_PALETTE_IMAGE, dither=Image.Dither.NONE)
    return np.asarray(quantized) % np.uint8(len(PALETTE))


def _kind(fill: float) -> str:
    """Fill ratio of the bounding box: square 1, circle pi/4, triangle 1/2."""
    if fill > 0.9:
        return "square"
    return "circle" if fill > 0.64 else "triangle"


def perceive(image: Image.Image) -> Scene:
    """The scene an image shows, exact for renders of at least MIN_SIZE px.

    Memoised on the pixels: an agent -> editor loop perceives each image several times (I0 at every step, and
    I_{t-1} by both the agent and the editor), and hashing costs a sixth of perceiving.
    """
    key = hashlib.sha1(f"{image.mode}{image.size}".encode() + image.tobytes(), usedforsecurity=False).digest()
    with _MEMO_LOCK:
        scene = _MEMO.get(key)
    if scene is None:
        scene = _perceive(image)
        with _MEMO_LOCK:
            if len(_MEMO) >= _MEMO_SIZE:
                _MEMO.pop(next(iter(_MEMO)))
            _MEMO[key] = scene
    return scene


def _perceive(image: Image.Image) -> Scene:
    """Perception proper. Blobs are connected regions of object colours (objects never touch, so in a
    render each blob is one object of one colour); blobs under a quarter of the smallest triangle are noise.
    """
    from scipy import ndimage  # here, not at the top: scipy's import costs 0.3 s and plugin listing pays it

    lab = labels(image)
    height, width = lab.shape
    ux, uy = width / GRID, height / GRID
    counts = np.bincount(lab.ravel(), minlength=len(PALETTE))
    background = PALETTE[_N_OBJECT + int(np.argmax(counts[_N_OBJECT:]))]
    blobs, _ = ndimage.label(lab < _N_OBJECT)
    areas = np.bincount(blobs.ravel())
    min_area = 2 * ux * uy
    objects = []
    for n, box in enumerate(ndimage.find_objects(blobs), start=1):
        if box is None or areas[n] < min_area:
            continue
        colour = int(np.argmax(np.bincount(lab[box][blobs[box] == n])))
        h, w = box[0].stop - box[0].start, box[1].stop - box[1].start
        extent = max(w / ux, h / uy) / 2
        size = _SIZE_NAMES[int(np.argmin(np.abs(_HALF_EXTENTS - extent)))]
        x = round((box[1].start + box[1].stop) / 2 / ux)
        y = round((box[0].start + box[0].stop) / 2 / uy)
        objects.append(Obj(_kind(areas[n] / (w * h)), PALETTE[colour], size, x, y))
    return Scene(background, tuple(objects))


def agreement(image: Image.Image, scene: Scene) -> float:
    """Fraction of pixels where `image` shows what a render of `scene` would (1.0: it is that render)."""
    width, height = image.size
    if width != height or width < MIN_SIZE:
        return 0.0
    rendered = render(scene, width)
    if rendered.tobytes() == image.convert("RGB").tobytes():
        return 1.0
    return float(np.mean(labels(image) == labels(rendered)))
