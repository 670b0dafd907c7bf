"""Judge reliability statistics against simulations with known answers (every random source seeded)."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from scipy import stats as sps

from mirabench.reliability.stats import (
    drift,
    icc21,
    interval_alpha,
    kendall_many,
    krippendorff_interval,
    pairwise_accuracy,
    rank_agreement,
    rater_accuracy,
    repeat_noise,
    resolvable_gap,
    system_agreement,
)


def judged(truth: np.ndarray, noise: float, k: int, seed: int, bias: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return truth[:, None] + rng.normal(0.0, noise, (len(truth), k)) + bias


TRUTH = np.random.default_rng(99).uniform(0, 10, 300)


@pytest.mark.parametrize("noise", [0.3, 1.0, 2.0])
def test_repeat_std_recovers_the_judges_noise(noise: float) -> None:
    r = repeat_noise(judged(TRUTH, noise, 3, seed=1, bias=0.7))  # a constant bias is no repeat noise
    assert r.std.value == pytest.approx(noise, rel=0.1)
    assert r.std.ci95 is not None and r.std.ci95[0] < noise < r.std.ci95[1]
    assert r.std.n == 300 and r.k == 3
    # ICC and alpha both estimate var(truth) / (var(truth) + noise^2) (truth ~ U(0, 10): variance 100/12)
    expected = (100 / 12) / (100 / 12 + noise**2)
    assert r.icc.value == pytest.approx(expected, abs=0.03)
    assert r.alpha.value == pytest.approx(expected, abs=0.03)


def test_repeats_with_gaps_and_a_deterministic_judge() -> None:
    y = np.round(judged(TRUTH[:40], 1.0, 4, seed=2), 1)
    y[::5, 1] = np.nan  # failed judgements are left out, not zero
    y[3, :3] = np.nan  # a sample with one judgement says nothing about noise
    r = repeat_noise(y)
    assert r.std.n == 39 and r.icc.n == 31
    assert r.alpha.value == pytest.approx(krippendorff.alpha(reliability_data=y.T, level_of_measurement="interval"))
    exact = repeat_noise(np.repeat(TRUTH[:30, None], 3, axis=1))
    assert exact.std.value == pytest.approx(0.0, abs=1e-12) and exact.icc.value == pytest.approx(1.0)


def test_icc21_by_hand() -> None:
    # Shrout & Fleiss (1979) Table 2: 6 targets x 4 judges; ICC(2,1) = 0.29
    y = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float)
    assert icc21(y) == pytest.approx(0.2898, abs=5e-4)


def test_closed_form_alpha_matches_the_package() -> None:
    rng = np.random.default_rng(3)
    for trial in range(20):
        raters, units = rng.integers(2, 6), rng.integers(5, 40)
        data = np.round(rng.normal(5, 2, (raters, units)) + rng.normal(0, 2, units), 1)
        data[rng.random(data.shape) < 0.25] = np.nan
        ref = krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
        assert interval_alpha(data) == pytest.approx(ref, abs=1e-9), trial


def test_alpha_among_simulated_raters_matches_the_package() -> None:
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 11, 80).astype(float)
    raters = np.clip(np.round(truth[None, :] + rng.normal(0, 1.5, (5, 80))), 0, 10)
    raters[rng.random(raters.shape) < 0.3] = np.nan  # not every rater sees every item
    est = krippendorff_interval(raters)
    assert est.value == krippendorff.alpha(reliability_data=raters, level_of_measurement="interval")
    assert est.ci95 is not None and est.ci95[0] < est.value < est.ci95[1]
    assert 0.6 < est.value < 0.9  # var(truth) = 10 against rater noise 1.5^2 (plus rounding, clipping)


def test_inter_judge_spearman_falls_as_noise_grows() -> None:
    truth = TRUTH
    a = judged(truth, 0.25, 1, seed=5)[:, 0]
    rhos = [rank_agreement(a, judged(truth, s, 1, seed=6)[:, 0]) for s in (0.25, 1.0, 3.0)]
    values = [r["spearman"].value for r in rhos]
    taus = [r["kendall"].value for r in rhos]
    assert values[0] > values[1] > values[2] and taus[0] > taus[1] > taus[2]
    assert rhos[2]["spearman"].ci95[1] < rhos[1]["spearman"].ci95[0]  # type: ignore[index]
    assert rhos[1]["spearman"].ci95[1] < rhos[0]["spearman"].ci95[0]  # type: ignore[index]
    # Pearson of truth + noise on a uniform truth is sqrt(v / (v + s^2)) per judge; Spearman is close to it
    v = 100 / 12
    assert values[2] == pytest.approx(np.sqrt(v / (v + 0.25**2)) * np.sqrt(v / (v + 9)), abs=0.06)


def test_system_agreement_and_pairwise_accuracy() -> None:
    rng = np.random.default_rng(7)
    base = rng.uniform(0, 10, (60, 1)) + np.array([0.0, 1.0, 2.0, 3.0])  # four systems, clearly ordered
    same = system_agreement(base + rng.normal(0, 0.3, base.shape), base)
    assert same["kendall"].value == 1.0 and same["kendall"].n == 4
    flipped = system_agreement(-base, base)
    assert flipped["kendall"].value == -1.0
    # hand-computed: 2 samples x 3 systems; reference orders all 3 pairs of row 0 and 2 of row 1 (one tie)
    ref = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 1.0]])
    jud = np.array([[1.0, 3.0, 2.0], [4.0, 6.0, 2.0]])
    acc = pairwise_accuracy(jud, ref)
    # row 0: (0,1) agree, (0,2) agree, (1,2) disagree; row 1: (0,2) agree, (1,2) agree -> 4 of 5
    assert acc.value == pytest.approx(4 / 5) and acc.n == 5
    tie = pairwise_accuracy(np.array([[1.0, 1.0]]), np.array([[1.0, 2.0]]))
    assert tie.value == 0.5


def _drift_rate(shift: float, seeds: range, n: int = 60, noise: float = 1.0) -> float:
    hits = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        truth = rng.uniform(0, 10, n)
        then = truth + rng.normal(0, noise, n)
        now = truth + rng.normal(0, noise, n) + shift
        ids = [f"s{i}" for i in range(n)]
        res = drift(dict(zip(ids, then, strict=True)), dict(zip(ids, now, strict=True)), alpha=0.05, seed=seed)
        assert res is not None and res.n == n
        hits += res.drifted
    return hits / len(seeds)


def test_drift_flags_a_shift_and_keeps_its_false_alarm_rate() -> None:
    # 200 seeded calibration sets: a zero shift is flagged about alpha = 5% of the time (binomial sd 1.5%) ...
    assert _drift_rate(0.0, range(200)) <= 0.09
    # ... a shift of 0.6 (diff sd sqrt(2), n 60: z = 3.3, power ~0.9) almost always
    assert _drift_rate(0.6, range(200, 300)) >= 0.8


def test_drift_reports_shift_interval_and_tolerance() -> None:
    ids = [f"s{i}" for i in range(50)]
    then = dict.fromkeys(ids, 5.0)
    now = {i: 5.5 + (0.1 if k % 2 else -0.1) for k, i in enumerate(ids)}
    res = drift(then, now)
    assert res is not None and res.shift == pytest.approx(0.5) and res.drifted
    assert res.ci95 is not None and res.ci95[0] < 0.5 < res.ci95[1]
    tolerated = drift(then, now, tolerance=1.0)
    assert tolerated is not None and not tolerated.drifted
    assert drift({"a": 1.0}, {"b": 2.0}) is None


def test_resolvable_gap_has_the_stated_power() -> None:
    """Two systems differing by exactly the resolvable gap: a paired test at 5% finds it ~80% of the time."""
    n, rep_sd, true_sd = 80, 0.8, 1.2
    gap = resolvable_gap(rep_sd**2, n, paired_var=true_sd**2)
    assert gap is not None
    assert gap == pytest.approx(2.8016 * np.sqrt((true_sd**2 + 2 * rep_sd**2) / n), rel=1e-3)
    found = 0
    for seed in range(400):
        rng = np.random.default_rng(seed)
        quality = rng.uniform(0, 10, n)
        a = quality + rng.normal(0, rep_sd, n)
        b = quality + gap + rng.normal(0, true_sd, n) + rng.normal(0, rep_sd, n)
        found += sps.ttest_rel(b, a).pvalue < 0.05
    assert 0.74 <= found / 400 <= 0.86
    floor = resolvable_gap(rep_sd**2, n)
    assert floor is not None and floor < gap
    assert resolvable_gap(0.0, n) == 0.0 and resolvable_gap(1.0, 0) is None


def test_vectorized_kendall_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(8)
    x = np.round(rng.normal(0, 1, (50, 30)), 0)  # many ties
    y = np.round(x + rng.normal(0, 1, (50, 30)), 0)
    expected = [sps.kendalltau(a, b).statistic for a, b in zip(x, y, strict=True)]
    assert kendall_many(x, y) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(kendall_many(np.ones((1, 5)), y[:1, :5]))[0]


def test_kendall_interval_from_counts_matches_the_resamples() -> None:
    from mirabench.reliability.stats import _interval, _kendall_ci, _resamples

    rng = np.random.default_rng(9)
    a = np.round(rng.normal(0, 2, 60))
    b = np.round(a + rng.normal(0, 2, 60))
    idx = _resamples(60, 4, 300)
    assert _kendall_ci(a, b, 4, 300) == pytest.approx(_interval(kendall_many(a[idx], b[idx]), 300), abs=1e-12)


def test_large_samples_get_fieller_intervals_for_kendall() -> None:
    rng = np.random.default_rng(10)
    truth = rng.uniform(0, 10, 1500)
    got = rank_agreement(truth + rng.normal(0, 1, 1500), truth + rng.normal(0, 1, 1500))["kendall"]
    assert got.n == 1500 and got.ci95 is not None and got.value is not None
    lo, hi = got.ci95
    assert lo < got.value < hi and hi - lo == pytest.approx(
        2 * 1.96 * np.sqrt(0.437 / 1496) * (1 - got.value**2), rel=0.05
    )


def test_rater_against_the_others_by_hand() -> None:
    # sample 0: every rater reverses the others' mean order (0 of 3); sample 1: all agree (3 of 3)
    r = np.array([[[1, 3], [1, 2]], [[2, 4], [1, 2]], [[5, 1], [1, 2]]], dtype=float)
    got = rater_accuracy(r)
    assert got.value == 0.5 and got.n == 6
    r[1, 1] = np.nan  # rater 1 did not rate sample 1: their pair there is left out, the others compare with rater 0/2
    assert rater_accuracy(r).n == 5
