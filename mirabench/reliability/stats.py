"""How far to trust a judge column: pure, seeded statistics over arrays of scores (no I/O).

Every estimate comes with its n and a 95% interval (percentile bootstrap over samples, seeded, so a report
rendered twice shows the same numbers). Missing judgements are NaN and are left out, never counted as zero.

- repeat noise: the same images judged k times; the pooled per-sample standard deviation, ICC(2,1) and
  Krippendorff's alpha (interval) with the repeats as raters;
- the smallest system difference a judge can resolve at a run's n (`resolvable_gap`, formula there);
- rank agreement between two score vectors (Spearman, Kendall), between system rankings (Kendall's tau of
  system means), and pairwise preference accuracy;
- drift of a frozen calibration set (paired t-test and bootstrap interval of the shift);
- inter-rater agreement (Krippendorff's alpha, interval level, through the `krippendorff` package).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import krippendorff
import numpy as np
from scipy import stats as sps

__all__ = [
    "Drift",
    "Estimate",
    "RepeatNoise",
    "drift",
    "icc21",
    "interval_alpha",
    "kendall_many",
    "krippendorff_interval",
    "pairwise_accuracy",
    "rank_agreement",
    "rater_accuracy",
    "repeat_noise",
    "resolvable_gap",
    "system_agreement",
]

N_BOOT = 1000
ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class Estimate:
    """A statistic, its 95% interval (None when it cannot be resampled) and the n it rests on."""

    value: float | None
    ci95: tuple[float, float] | None
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": None if self.value is None else round(self.value, 6),
            "ci95": None if self.ci95 is None else [round(self.ci95[0], 6), round(self.ci95[1], 6)],
            "n": self.n,
        }


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _bootstrap(
    stat: Callable[[np.ndarray], float], n: int, seed: int, n_boot: int = N_BOOT
) -> tuple[float, float] | None:
    """Percentile 95% interval of `stat(indices)` over resamples of n units; None when too few finite draws."""
    if n < 3:
        return None
    return _interval(np.array([stat(i) for i in _resamples(n, seed, n_boot)], dtype=float), n_boot)


# -- repeat noise ---------------------------------------------------------------------------------------------


def icc21(values: np.ndarray) -> float | None:
    """ICC(2,1) of Shrout & Fleiss (two-way random effects, absolute agreement, single rating) of an n x k matrix
    without gaps: (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n). None when nothing varies at all."""
    y = np.asarray(values, dtype=float)
    n, k = y.shape
    if n < 2 or k < 2:
        return None
    grand = y.mean()
    rows, cols = y.mean(axis=1), y.mean(axis=0)
    msr = k * float(np.sum((rows - grand) ** 2)) / (n - 1)
    msc = n * float(np.sum((cols - grand) ** 2)) / (k - 1)
    mse = float(np.sum((y - rows[:, None] - cols[None, :] + grand) ** 2)) / ((n - 1) * (k - 1))
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    return (msr - mse) / denom if denom > 1e-15 else None


def _pairable(data: np.ndarray) -> np.ndarray:
    """Units (columns) with at least two ratings: the only ones Krippendorff's alpha uses."""
    return data[:, np.sum(np.isfinite(data), axis=0) >= 2]


PACKAGE_MAX_VALUES = 200
"""Above this many distinct values the package's coincidence matrix is slow (3 s for 600): closed form instead."""


def _alpha(data: np.ndarray) -> float | None:
    """Krippendorff's alpha (interval) of a raters x units matrix (NaN = no rating): by the `krippendorff` package
    (judge and human scores on a 0-10 grid), or by `interval_alpha` (the same number, tested equal) for continuous
    scores with many distinct values. None where undefined (fewer than two pairable units, or no variation)."""
    if _pairable(data).shape[1] < 2:
        return None
    if len(np.unique(data[np.isfinite(data)])) > PACKAGE_MAX_VALUES:
        return _finite(interval_alpha(data))
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            value = krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
        except (ValueError, ZeroDivisionError):
            return None
    return _finite(value)


def interval_alpha(data: np.ndarray) -> float:
    """The same alpha in closed form, for bootstrap replicates: the package builds a coincidence matrix over the
    distinct values (3 s a call for 600 distinct floats), this is O(raters x units). Tested equal to the package.

    alpha = 1 - D_o / D_e, D_o = sum_u sum_(i!=j) (v_ui - v_uj)^2 / (m_u - 1) / N over units with m_u >= 2 values,
    D_e = sum_(a!=b) (v_a - v_b)^2 / (N (N - 1)) over all N pairable values; sum_(i!=j) (x_i - x_j)^2 is
    2 (m sum x^2 - (sum x)^2)."""
    units = _pairable(np.asarray(data, dtype=float))
    ok = np.isfinite(units)
    x = np.where(ok, units, 0.0)
    m, s1, s2 = ok.sum(axis=0), x.sum(axis=0), (x * x).sum(axis=0)
    n = float(m.sum())
    if units.shape[1] < 2 or n < 2:
        return math.nan
    d_o = float(np.sum(2 * (m * s2 - s1 * s1) / (m - 1))) / n
    d_e = 2 * (n * float(s2.sum()) - float(s1.sum()) ** 2) / (n * (n - 1))
    return 1.0 - d_o / d_e if d_e > 1e-15 else math.nan


@dataclass(frozen=True)
class RepeatNoise:
    """Re-asking a judge about the same images: how far its answers move."""

    std: Estimate  # pooled within-sample standard deviation: sqrt(mean of per-sample variances, ddof=1)
    icc: Estimate  # ICC(2,1), repeats as raters (complete rows only)
    alpha: Estimate  # Krippendorff's alpha, interval, repeats as raters
    k: int
    per_sample_std: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "std": self.std.as_dict(),
            "icc21": self.icc.as_dict(),
            "alpha": self.alpha.as_dict(),
            "k": self.k,
            "mean_per_sample_std": round(float(np.mean(self.per_sample_std)), 6) if self.per_sample_std else None,
        }


def repeat_noise(values: np.ndarray, seed: int = 0, n_boot: int = N_BOOT) -> RepeatNoise:
    """n samples x k repeats (NaN = failed judgement). The standard deviation pools per-sample variances, so it
    estimates the judge's own noise s whatever the spread of true scores; its interval resamples samples."""
    y = np.asarray(values, dtype=float)
    if y.ndim != 2:
        raise ValueError("repeat_noise needs an n x k matrix (samples x repeats)")
    usable = y[np.sum(np.isfinite(y), axis=1) >= 2]
    with np.errstate(invalid="ignore"):
        var = np.nanvar(usable, axis=1, ddof=1) if len(usable) else np.array([])
    n = len(var)
    std_ci = _interval(np.sqrt(var[_resamples(n, seed, n_boot)].mean(axis=1)), n_boot) if n >= 3 else None
    std = Estimate(math.sqrt(float(var.mean())) if n else None, std_ci, n)
    full = y[np.all(np.isfinite(y), axis=1)]
    icc = Estimate(icc21(full), _bootstrap(lambda i: icc21(full[i]) or math.nan, len(full), seed, n_boot), len(full))
    alpha = Estimate(_alpha(usable.T), _bootstrap(lambda i: interval_alpha(usable[i].T), n, seed, n_boot), n)
    return RepeatNoise(std, icc, alpha, y.shape[1], [math.sqrt(v) for v in var])


def resolvable_gap(
    repeat_var: float, n: int, paired_var: float = 0.0, alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """The smallest difference of two systems' means (each judged once, on the same n samples) that a two-sided
    paired test at level `alpha` detects with probability `power`:

        gap = (z[1 - alpha/2] + z[power]) * sqrt((paired_var + 2 * repeat_var) / n)

    A paired per-sample difference carries the judge's noise twice (2 * repeat_var, from re-asking it: the repeat
    variance) plus the true per-sample differences of the systems (`paired_var`: the observed paired variance
    minus 2 * repeat_var). With paired_var = 0 it is the floor the judge's noise alone sets: systems that differ
    by less cannot be told apart by this judge at this n, however alike they are sample by sample.
    At alpha 0.05 and power 0.8 the factor is 2.80."""
    if n < 1 or repeat_var < 0 or not math.isfinite(repeat_var):
        return None
    z = float(sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power))
    return z * math.sqrt((max(paired_var, 0.0) + 2 * repeat_var) / n)


# -- agreement ------------------------------------------------------------------------------------------------


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(sps.spearmanr(x, y).statistic)


def _kendall(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(sps.kendalltau(x, y).statistic)


def rank_agreement(x: np.ndarray, y: np.ndarray, seed: int = 0, n_boot: int = N_BOOT) -> dict[str, Estimate]:
    """Sample-level Spearman and Kendall (tau-b) between two judges' scores of the same items (pairs with a NaN on
    either side left out), each with a bootstrap interval over items (Kendall above KENDALL_BOOT_MAX items:
    Fieller's interval)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    tau = _finite(_kendall(a, b))
    return {
        "spearman": Estimate(_finite(_spearman(a, b)), _spearman_ci(a, b, seed, n_boot), n),
        "kendall": Estimate(tau, _kendall_ci(a, b, seed, n_boot) if n <= KENDALL_BOOT_MAX else _fieller(tau, n), n),
    }


def _interval(draws: np.ndarray, n_boot: int) -> tuple[float, float] | None:
    """Percentile 95% interval of bootstrap draws; None when fewer than half of them are defined."""
    draws = draws[np.isfinite(draws)]
    if len(draws) < n_boot // 2:
        return None
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row pair (NaN for a constant row); of ranks, Spearman's rho."""
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((x * y).sum(axis=1) / np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1)))


def _resamples(n: int, seed: int, n_boot: int) -> np.ndarray:
    """n_boot x n indices of bootstrap resamples (seeded)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _spearman_ci(a: np.ndarray, b: np.ndarray, seed: int, n_boot: int) -> tuple[float, float] | None:
    """`_bootstrap` of Spearman, vectorized (average ranks per resample, then Pearson): the same resamples."""
    if len(a) < 3:
        return None
    idx = _resamples(len(a), seed, n_boot)
    return _interval(_pearson_rows(sps.rankdata(a[idx], axis=1), sps.rankdata(b[idx], axis=1)), n_boot)


def kendall_many(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row pair of two B x n matrices (NaN where a row is constant), vectorized:
    sum over pairs of sign(dx) sign(dy) / sqrt((n0 - ties_x) (n0 - ties_y)), as scipy's kendalltau (tested equal),
    which costs ~2 ms a call: 1000 bootstrap resamples of system means take a few ms here."""
    rows, n = x.shape
    out = np.empty(rows)
    n0 = n * (n - 1) / 2
    step = max(1, int(2e7 // max(n * n, 1)))
    for start in range(0, rows, step):
        xs, ys = x[start : start + step], y[start : start + step]
        sx = np.sign(xs[:, :, None] - xs[:, None, :]).astype(np.int8)
        sy = np.sign(ys[:, :, None] - ys[:, None, :]).astype(np.int8)
        s = (sx * sy).sum(axis=(1, 2), dtype=np.int64) / 2
        tx = ((sx == 0).sum(axis=(1, 2)) - n) / 2
        ty = ((sy == 0).sum(axis=(1, 2)) - n) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + step] = s / np.sqrt((n0 - tx) * (n0 - ty))
    return out


KENDALL_BOOT_MAX = 1000
"""Items up to which Kendall's interval is bootstrapped (its cost grows as resamples x n^2: 1 s at 1000)."""


def _fieller(tau: float | None, n: int) -> tuple[float, float] | None:
    """Fieller, Hartley & Pearson's (1957) interval of Kendall's tau for large n: atanh(tau) is about normal with
    variance 0.437 / (n - 4)."""
    if tau is None or abs(tau) >= 1:
        return None
    z, half = math.atanh(tau), 1.96 * math.sqrt(0.437 / (n - 4))
    return math.tanh(z - half), math.tanh(z + half)


def _kendall_ci(a: np.ndarray, b: np.ndarray, seed: int, n_boot: int) -> tuple[float, float] | None:
    """Bootstrap interval of Kendall's tau-b, each resample through its item counts c rather than its items: the
    concordance sum is c' P c / 2 and the ties c' Z c, with P = sign(dx) sign(dy) and Z = [dx == 0] over the n
    original items, one matrix product for all resamples (tested equal to `kendall_many` of the resamples)."""
    n = len(a)
    if n < 3:
        return None
    idx = _resamples(n, seed, n_boot)
    counts = np.zeros((n_boot, n))
    np.add.at(counts, (np.arange(n_boot)[:, None], idx), 1.0)
    sx, sy = np.sign(a[:, None] - a[None, :]), np.sign(b[:, None] - b[None, :])

    def quad(m: np.ndarray) -> np.ndarray:
        return np.asarray(np.einsum("bi,bi->b", counts @ m, counts))

    n0 = n * (n - 1) / 2
    s = quad(sx * sy) / 2
    tx, ty = (quad((sx == 0).astype(float)) - n) / 2, (quad((sy == 0).astype(float)) - n) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return _interval(s / np.sqrt((n0 - tx) * (n0 - ty)), n_boot)


def _complete(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (samples) scored for every system by both judges."""
    keep = np.all(np.isfinite(a), axis=1) & np.all(np.isfinite(b), axis=1)
    return a[keep], b[keep]


def system_agreement(a: np.ndarray, b: np.ndarray, seed: int = 0, n_boot: int = N_BOOT) -> dict[str, Estimate]:
    """Do two judges rank the systems alike? `a`, `b`: samples x systems. Kendall's tau and Spearman of the
    system means (samples every system has on both sides); the interval resamples samples. n = systems; fewer
    than three systems have no ranking to compare (None)."""
    a, b = _complete(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    m, rows = a.shape[1], len(a)
    if rows == 0 or m < 3:
        return {"kendall": Estimate(None, None, m), "spearman": Estimate(None, None, m)}
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    tau_ci = rho_ci = None
    if rows >= 3:
        idx = _resamples(rows, seed, n_boot)
        boot_a, boot_b = a[idx].mean(axis=1), b[idx].mean(axis=1)
        tau_ci = _interval(kendall_many(boot_a, boot_b), n_boot)
        rho_ci = _interval(_pearson_rows(sps.rankdata(boot_a, axis=1), sps.rankdata(boot_b, axis=1)), n_boot)
    return {
        "kendall": Estimate(_finite(_kendall(ma, mb)), tau_ci, m),
        "spearman": Estimate(_finite(_spearman(ma, mb)), rho_ci, m),
    }


def _preference(judge: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: summed agreement over system pairs the reference orders strictly (and both sides scored), and the
    count of such pairs. Agreement is 1 for the same order, 0.5 for a judge tie, 0 for the opposite order."""
    m = judge.shape[1]
    hits = np.zeros(len(judge))
    count = np.zeros(len(judge))
    for i in range(m):
        for j in range(i + 1, m):
            ref = np.sign(reference[:, i] - reference[:, j])
            jud = np.sign(judge[:, i] - judge[:, j])
            strict = np.isfinite(ref) & np.isfinite(jud) & (ref != 0)
            hits += np.where(strict, np.where(jud == ref, 1.0, np.where(jud == 0, 0.5, 0.0)), 0.0)
            count += strict
    return hits, count


def pairwise_accuracy(judge: np.ndarray, reference: np.ndarray, seed: int = 0, n_boot: int = N_BOOT) -> Estimate:
    """Share of (sample, system pair) comparisons the reference decides that the judge decides the same way
    (a judge tie counts half). `judge`, `reference`: samples x systems, NaN = not scored (that pair is left out).
    n = pairs compared; the interval resamples samples."""
    hits, count = _preference(np.asarray(judge, dtype=float), np.asarray(reference, dtype=float))
    return _accuracy(hits, count, seed, n_boot)


def _accuracy(hits: np.ndarray, count: np.ndarray, seed: int, n_boot: int) -> Estimate:
    total = int(count.sum())
    if total == 0:
        return Estimate(None, None, 0)
    ci = None
    if len(hits) >= 3:
        idx = _resamples(len(hits), seed, n_boot)
        with np.errstate(invalid="ignore", divide="ignore"):
            ci = _interval(hits[idx].sum(axis=1) / count[idx].sum(axis=1), n_boot)
    return Estimate(float(hits.sum() / total), ci, total)


def rater_accuracy(ratings: np.ndarray, seed: int = 0, n_boot: int = N_BOOT) -> Estimate:
    """The human ceiling for `pairwise_accuracy`: each rater against the mean of the other raters, pooled over
    raters. `ratings`: raters x samples x systems, NaN = not rated."""
    r = np.asarray(ratings, dtype=float)
    hits, count = np.zeros(r.shape[1]), np.zeros(r.shape[1])
    for k in range(r.shape[0]):
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a unit no other rater saw: its mean is NaN, left out
            rest = np.nanmean(np.delete(r, k, axis=0), axis=0)
        h, c = _preference(r[k], rest)
        hits, count = hits + h, count + c
    return _accuracy(hits, count, seed, n_boot)


# -- drift ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """Now minus then over the calibration items both judged: the shift, its interval, the paired t-test's p."""

    shift: float
    ci95: tuple[float, float] | None
    p_value: float
    n: int
    drifted: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "shift": round(self.shift, 6),
            "ci95": None if self.ci95 is None else [round(self.ci95[0], 6), round(self.ci95[1], 6)],
            "p": round(self.p_value, 6),
            "n": self.n,
            "drifted": self.drifted,
        }


def drift(
    then: Mapping[str, float | None],
    now: Mapping[str, float | None],
    alpha: float = ALPHA,
    tolerance: float = 0.0,
    seed: int = 0,
) -> Drift | None:
    """Now minus then on the items judged both times: mean shift, bootstrap interval, and the paired t-test's p
    (a judge that answers identically gives p = 1; a constant nonzero shift, p = 0). A column drifted when the
    test rejects "no shift" at `alpha` and the shift is larger than `tolerance` (score units). None when no item
    was judged both times."""
    ids = sorted(k for k, v in then.items() if v is not None and now.get(k) is not None)
    if not ids:
        return None
    d = np.array([float(now[k]) - float(then[k]) for k in ids])  # type: ignore[arg-type]
    shift = float(d.mean())
    if len(d) < 2 or float(np.ptp(d)) < 1e-12:
        p = 1.0 if abs(shift) < 1e-12 else 0.0
    else:
        p = float(sps.ttest_1samp(d, 0.0).pvalue)
    ci = _interval(d[_resamples(len(d), seed, N_BOOT)].mean(axis=1), N_BOOT) if len(d) >= 3 else None
    return Drift(shift, ci, p, len(d), p < alpha and abs(shift) > tolerance)


# -- people ---------------------------------------------------------------------------------------------------


def krippendorff_interval(ratings: np.ndarray, seed: int = 0, n_boot: int = N_BOOT) -> Estimate:
    """Krippendorff's alpha (interval metric) of a raters x units matrix (NaN = not rated), by the `krippendorff`
    package; the interval resamples units. n = units rated by at least two raters."""
    units = _pairable(np.asarray(ratings, dtype=float))
    n = units.shape[1]
    return Estimate(_alpha(units), _bootstrap(lambda i: interval_alpha(units[:, i]), n, seed, n_boot), n)
