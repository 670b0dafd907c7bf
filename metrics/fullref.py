"""`psnr` and `ssim`: full-reference preservation between the source and the final image (no weights).

How much of the source survived the edit: useful as a background/over-editing signal next to the judges. The
edited image is resized to the source size (bicubic) when the editor changed it, and the Score says so.
- PSNR on RGB in [0, 255]; identical images have infinite PSNR, reported as the cap `PSNR_CAP` = 100 dB.
- SSIM (Wang et al. 2004) on BT.601 luma in [0, 255], Gaussian window sigma 1.5 truncated at 3.5 sigma
  (11 x 11), K1 = 0.01, K2 = 0.03, population covariances, mean over the valid (unpadded) region.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from mirabench.plugins import Column, Metric, ScoreItem
from mirabench.registry import metrics
from mirabench.types import Score

__all__ = ["PSNR_CAP", "psnr", "ssim"]

PSNR_CAP = 100.0


def _pair(item: ScoreItem) -> tuple[np.ndarray, np.ndarray, bool]:
    src = item.source.convert("RGB")
    edited = item.edited.convert("RGB")
    resized = edited.size != src.size
    if resized:
        edited = edited.resize(src.size, Image.Resampling.BICUBIC)
    return np.asarray(src, dtype=np.float64), np.asarray(edited, dtype=np.float64), resized


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(255.0**2 / mse))


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def ssim(a: np.ndarray, b: np.ndarray, sigma: float = 1.5) -> float:
    from scipy.ndimage import gaussian_filter

    x, y = _luma(a), _luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = {"sigma": sigma, "truncate": 3.5, "mode": "reflect"}
    mx, my = gaussian_filter(x, **blur), gaussian_filter(y, **blur)
    sxx = gaussian_filter(x * x, **blur) - mx * mx
    syy = gaussian_filter(y * y, **blur) - my * my
    sxy = gaussian_filter(x * y, **blur) - mx * my
    smap = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    pad = int(3.5 * sigma + 0.5)
    inner = smap[pad:-pad, pad:-pad] if min(smap.shape) > 2 * pad else smap
    return float(inner.mean())


@metrics.register("psnr", description="PSNR between source and final image (preservation, dB, no weights)")
class PSNRMetric(Metric):
    """Peak signal-to-noise ratio of the final image against the source (RGB, 0-255, capped at 100 dB)."""

    version = "1"
    columns = (Column("psnr", 0, PSNR_CAP, True, "PSNR source vs final (dB); identical images = 100"),)

    def score(self, item: ScoreItem) -> dict[str, Score]:
        a, b, resized = _pair(item)
        return {"psnr": Score.ok(psnr(a, b), resized=resized)}


@metrics.register("ssim", description="SSIM between source and final image (preservation, no weights)")
class SSIMMetric(Metric):
    """Structural similarity of the final image to the source on luma (Gaussian window, sigma 1.5)."""

    version = "1"
    columns = (Column("ssim", -1, 1, True, "SSIM source vs final (luma)"),)

    def score(self, item: ScoreItem) -> dict[str, Score]:
        a, b, resized = _pair(item)
        return {"ssim": Score.ok(ssim(a, b), resized=resized)}
