"""Statistics for reports and CI gates: bootstrap intervals of a mean and paired tests over shared samples.

Two systems run on the same samples are compared sample by sample (paired): the per-sample differences remove
the variance that comes from some samples being harder than others, so a small real gain is detectable and a
lucky draw is not mistaken for one. Everything is seeded, so a report rendered twice shows the same numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["PairedResult", "bootstrap_mean_ci", "paired", "sign_flip_p"]

EXACT_MAX_N = 16  # 2**16 sign patterns: enumerate them instead of sampling


def bootstrap_mean_ci(
    values: np.ndarray | list[float], level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None below two values (no spread to resample)."""
    arr = np.asarray(values, dtype=float)
    if len(arr) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(n_boot, len(arr)))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def sign_flip_p(diffs: np.ndarray | list[float], n_perm: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value of a paired sign-flip permutation test of "mean difference = 0".

    Under the null each difference is as likely to have come out with the opposite sign. Exact (all 2**n sign
    patterns) up to EXACT_MAX_N differences, Monte Carlo with the +1 correction above that.
    """
    d = np.asarray(diffs, dtype=float)
    n = len(d)
    if n == 0:
        return 1.0
    observed = abs(d.mean())
    eps = 1e-12 * max(1.0, observed)
    if n <= EXACT_MAX_N:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        return float(np.mean(np.abs(signs @ d / n) >= observed - eps))
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_perm, 2000):  # chunks bound memory at 2000 x n
        signs = rng.choice((1.0, -1.0), size=(min(2000, n_perm - start), n))
        hits += int(np.sum(np.abs(signs @ d / n) >= observed - eps))
    return (hits + 1) / (n_perm + 1)


@dataclass(frozen=True)
class PairedResult:
    """B minus A over the samples both scored: means on that common set, the delta, its interval and p."""

    n: int
    mean_a: float
    mean_b: float
    delta: float
    ci95: tuple[float, float] | None
    p_value: float


def paired(a: Mapping[str, float | None], b: Mapping[str, float | None], seed: int = 0) -> PairedResult | None:
    """Compare per-sample scores (id -> value, None = no score) on the ids both have a value for."""
    ids = sorted(k for k, v in a.items() if v is not None and b.get(k) is not None)
    if not ids:
        return None
    va = np.array([a[k] for k in ids], dtype=float)
    vb = np.array([b[k] for k in ids], dtype=float)
    d = vb - va
    return PairedResult(
        n=len(ids),
        mean_a=float(va.mean()),
        mean_b=float(vb.mean()),
        delta=float(d.mean()),
        ci95=bootstrap_mean_ci(d, seed=seed),
        p_value=sign_flip_p(d, seed=seed),
    )
