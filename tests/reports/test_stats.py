"""Bootstrap intervals and the paired sign-flip test, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mirabench.reports.stats import bootstrap_mean_ci, paired, sign_flip_p


def test_sign_flip_exact_p_values() -> None:
    # d = (1, 2, 3): of the 8 sign patterns only +++ and --- reach |sum| = 6, so p = 2/8
    assert sign_flip_p([1, 2, 3]) == pytest.approx(0.25)
    # five equal gains: only all-plus and all-minus are as extreme, p = 2/32
    assert sign_flip_p([1, 1, 1, 1, 1]) == pytest.approx(0.0625)
    # d = (1, -1): sums 0, 2, -2, 0 against observed 0 -> every pattern is as extreme
    assert sign_flip_p([1, -1]) == 1.0
    # d = (3, 1): sums 4, 2, -2, -4; |sum| >= 4 in 2 of 4 patterns
    assert sign_flip_p([3, 1]) == pytest.approx(0.5)
    assert sign_flip_p([0, 0, 0]) == 1.0 and sign_flip_p([]) == 1.0


def test_sign_flip_monte_carlo_above_exact_limit() -> None:
    # 20 equal gains: exact p = 2 / 2**20 ~ 2e-6; Monte Carlo with 10000 draws reports its floor 1/10001
    assert sign_flip_p([0.5] * 20) == pytest.approx(1 / 10001)
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1, 400)
    assert sign_flip_p(noise) > 0.05  # no effect: not significant
    assert sign_flip_p(noise + 0.5) < 0.001  # half a standard deviation on 400 pairs: clearly significant


def test_bootstrap_interval_hand_computed() -> None:
    assert bootstrap_mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert bootstrap_mean_ci([1.0]) is None
    # resampling (0, 0, 0, 1): the mean is k/4 with k ~ Binomial(4, 1/4); P(k=0) = 0.316 > 2.5%, so the lower
    # bound is 0; P(k <= 2) = 0.949 < 97.5% <= P(k <= 3) = 0.996, so the upper bound is 3/4
    lo, hi = bootstrap_mean_ci([0.0, 0.0, 0.0, 1.0], n_boot=20000)
    assert (lo, hi) == (0.0, 0.75)


def test_bootstrap_interval_matches_normal_theory_on_a_large_sample() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, 2000)
    lo, hi = bootstrap_mean_ci(x, n_boot=4000)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert lo == pytest.approx(x.mean() - half, abs=0.02) and hi == pytest.approx(x.mean() + half, abs=0.02)


def test_paired_uses_only_samples_both_scored() -> None:
    a = {"s1": 1.0, "s2": 2.0, "s3": None, "s4": 4.0, "only-a": 9.0}
    b = {"s1": 2.0, "s2": 4.0, "s3": 3.0, "s4": 7.0, "only-b": 0.0}
    res = paired(a, b)
    assert res is not None
    # pairs s1, s2, s4: differences 1, 2, 3
    assert res.n == 3 and res.mean_a == pytest.approx(7 / 3) and res.mean_b == pytest.approx(13 / 3)
    assert res.delta == pytest.approx(2.0) and res.p_value == pytest.approx(0.25)
    assert res.ci95 is not None and 1.0 <= res.ci95[0] <= 2.0 <= res.ci95[1] <= 3.0
    assert paired({"x": None}, {"x": 1.0}) is None
