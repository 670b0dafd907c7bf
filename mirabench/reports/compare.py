"""`mirabench compare`: gate a run against a baseline, metric by metric, on the samples both have.

A CI job runs its agent, then compares the run with a committed baseline: the job fails when a metric drops by
more than its threshold, when the paired test says it got significantly worse, when a judge covers fewer samples
than before, or when too many samples or judgements failed. "Worse" follows each metric's `higher_is_better`
(a collateral-damage count regresses upwards). The default threshold is a fraction of each metric's range (0.05
on a 0-10 judge allows a 0.5 drop), so one default fits metrics of any scale; a gate file (YAML, see `Gate`) sets
relative (fraction of the baseline mean) or absolute thresholds per metric, and the strictest one set applies.
A threshold alone misses a rare metric that grows tenfold inside 5% of a wide range; the significance test
catches it. Only samples present in both runs are compared, and a baseline made on another suite or another
version of its data is refused rather than compared.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mirabench.reports.stats import paired
from mirabench.rundir.rundir import Run, RunDir, RunDirError
from mirabench.rundir.schema import MetricSummary, SampleRow, Summary
from mirabench.spec import safe_yaml

__all__ = [
    "CompareError",
    "Comparison",
    "Gate",
    "Side",
    "Threshold",
    "compare",
    "load_gate",
    "load_side",
    "parse_tolerances",
    "render_text",
]

FAILED_STATUSES = frozenset({"parse_error", "api_error", "refused", "missing"})  # "skipped" is by design


class CompareError(ValueError):
    """The two runs cannot be compared (other suite or data, no shared samples, unreadable input)."""


@dataclass
class Side:
    """One side of a comparison: a run read through RunDir; `samples` is None when it has no samples.jsonl."""

    path: Path
    run: Run
    samples: dict[str, SampleRow] | None

    @property
    def summary(self) -> Summary:
        return self.run.summary

    @property
    def suite(self) -> str:
        return self.summary.suite

    @property
    def data_version(self) -> str | None:
        """The suite data's version, from run.json's identities (or an old summary.json's own field)."""
        version = self.run.config.plugins.get("suite_data_version") if self.run.config else None
        if version is None:
            version = (self.summary.model_extra or {}).get("suite_data_version")
        return None if version is None else str(version)


def load_side(path: Path) -> Side:
    """A run directory, or a summary.json (its run.json and samples.jsonl are used when they lie beside it)."""
    path = Path(path)
    if not path.is_dir() and path.name != "summary.json":
        raise CompareError(f"{path}: give a finished run directory or its summary.json")
    folder = path if path.is_dir() else path.parent
    try:
        run = RunDir(folder).read(samples=(folder / "samples.jsonl").exists())
    except RunDirError as exc:
        raise CompareError(str(exc)) from None
    return Side(folder if path.is_dir() else path, run, run.by_id if run.samples else None)


class Threshold(BaseModel):
    """How much worse one metric may get; the strictest of those set applies (none set: the gate's default)."""

    model_config = ConfigDict(extra="forbid")
    range: float | None = Field(None, ge=0, description="fraction of the metric's range")
    relative: float | None = Field(None, ge=0, description="fraction of the baseline mean's magnitude")
    absolute: float | None = Field(None, ge=0, description="in the metric's own units")


class Gate(BaseModel):
    """A gate file: `tolerance`, `alpha`, failure limits and `metrics: {NAME: {relative: 0.5, absolute: 0.05}}`."""

    model_config = ConfigDict(extra="forbid")
    tolerance: float = Field(0.05, ge=0, description="default threshold, a fraction of each metric's range")
    alpha: float = Field(0.05, ge=0, le=1, description="fail on a worsening with paired p below this (0 = off)")
    max_failure_rate: float = Field(0.02, ge=0, le=1)
    max_coverage_drop: float = Field(0.0, ge=0, le=1)
    metrics: dict[str, Threshold] = Field(default_factory=dict)


def load_gate(path: Path) -> Gate:
    """Read a gate file; a typo in a key or a negative threshold is refused with its location."""
    try:
        data = safe_yaml(Path(path).read_text(), f"gate file {path}") or {}
        return Gate.model_validate(data)
    except yaml.YAMLError as exc:
        raise CompareError(f"gate file {path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CompareError(f"gate file {path}: {problems}") from None


def parse_tolerances(values: list[str], gate: Gate) -> Gate:
    """`--tolerance 0.05` sets the default range fraction, `shapes-sc=0.02` one metric's; returns a new gate."""
    gate = gate.model_copy(deep=True)
    for value in values:
        key, sep, num = value.rpartition("=")
        try:
            tol = float(num)
        except ValueError:
            raise CompareError(f"--tolerance {value!r}: expected a number or METRIC=NUMBER") from None
        if tol < 0 or not math.isfinite(tol):
            raise CompareError(f"--tolerance {value!r}: must be a non-negative number")
        if sep:
            gate.metrics[key] = Threshold(range=tol)
        else:
            gate.tolerance = tol
    return gate


@dataclass
class Verdict:
    metric: str
    verdict: str  # ok | improved | regression | significant-regression | coverage-drop | failure-rate | missing
    baseline: float | None
    candidate: float | None
    delta: float | None
    allowed_drop: float  # how much worse (in the metric's bad direction) it may get
    rule: str = ""  # where allowed_drop comes from, e.g. "5% of range 0-12"
    higher_is_better: bool = True
    ci95: tuple[float, float] | None = None
    p_value: float | None = None
    n_paired: int = 0
    coverage_baseline: float | None = None
    coverage_candidate: float | None = None
    failure_rate: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.verdict not in ("ok", "improved")


@dataclass
class Comparison:
    candidate: str
    baseline: str
    suite: str | None
    mode: str  # "samples": paired on shared samples; "summary": baseline has only its summary
    n_shared: int
    n_only_baseline: int
    n_only_candidate: int
    sample_failure_rate: float
    max_failure_rate: float
    alpha: float
    verdicts: list[Verdict]
    notes: list[str]

    @property
    def passed(self) -> bool:
        return not any(v.failed for v in self.verdicts) and self.sample_failure_rate <= self.max_failure_rate

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        return out


def _check_same_data(base: Side, cand: Side) -> None:
    if base.suite != cand.suite:
        raise CompareError(
            f"baseline {base.path} is from suite {base.suite!r}, the run {cand.path} from {cand.suite!r}: "
            "a baseline only gates runs of its own suite"
        )
    if base.data_version is not None and cand.data_version is not None and base.data_version != cand.data_version:
        raise CompareError(
            f"baseline {base.path} was made on data version {base.data_version!r} of suite {base.suite!r}, "
            f"the run on {cand.data_version!r}: make a new baseline for the new data"
        )
    if base.samples is None or cand.samples is None:
        return
    for sid in sorted(set(base.samples) & set(cand.samples)):
        b, c = base.samples[sid], cand.samples[sid]
        for key in ("instruction", "source_image"):
            if getattr(b, key) and getattr(c, key) and getattr(b, key) != getattr(c, key):
                raise CompareError(
                    f"sample {sid!r} has another {key} in the baseline than in the run: the two were made on "
                    "different data (other suite options or data files), so they cannot be compared"
                )


def _allowed_drop(meta: MetricSummary, th: Threshold | None, default: float) -> tuple[float, str]:
    """The strictest threshold set for a metric, and a short rule naming it."""
    th = th or Threshold(range=default)
    if th.range is None and th.relative is None and th.absolute is None:
        th = Threshold(range=default)
    options: list[tuple[float, str]] = []
    if th.absolute is not None:
        options.append((th.absolute, "absolute"))
    if th.relative is not None:
        mean = meta.mean
        if mean is not None and math.isfinite(mean):
            options.append((th.relative * abs(mean), f"{th.relative:g}x baseline"))
    if th.range is not None:
        low, high = (meta.range or [math.nan, math.nan])[:2]
        if math.isfinite(low) and math.isfinite(high) and high > low:
            options.append((th.range * (high - low), f"{th.range:g}x range {low:g}-{high:g}"))
        else:
            options.append((th.range, f"{th.range:g} (no range)"))
    if not options:  # only `relative` given and the baseline has no mean
        return 0.0, "no baseline mean"
    return min(options)


def _scores(side: Side, ids: list[str], key: str) -> dict[str, float | None]:
    assert side.samples is not None
    return {i: side.samples[i].scores.get(key) for i in ids}


def _coverage(side: Side, ids: list[str], key: str) -> float:
    assert side.samples is not None
    ok = sum(1 for i in ids if side.samples[i].score_status.get(key) == "ok")
    return ok / len(ids) if ids else 0.0


def _failure_rate(side: Side, ids: list[str], key: str) -> float:
    assert side.samples is not None
    bad = sum(1 for i in ids if side.samples[i].score_status.get(key, "missing") in FAILED_STATUSES)
    return bad / len(ids) if ids else 0.0


def compare(candidate: Side, baseline: Side, gate: Gate | None = None) -> Comparison:
    """Per-metric verdicts of `candidate` against `baseline` (see the module docstring for the rules)."""
    gate = gate or Gate()
    max_failure_rate, max_coverage_drop = gate.max_failure_rate, gate.max_coverage_drop
    _check_same_data(baseline, candidate)
    base_metrics = baseline.summary.metrics
    cand_metrics = candidate.summary.metrics
    unknown = set(gate.metrics) - set(base_metrics)
    if unknown:
        raise CompareError(f"threshold given for metric(s) the baseline does not have: {', '.join(sorted(unknown))}")
    notes: list[str] = []
    verdicts: list[Verdict] = []
    if baseline.samples is not None and candidate.samples is not None:
        mode = "samples"
        shared = sorted(set(baseline.samples) & set(candidate.samples))
        if not shared:
            raise CompareError(f"the run {candidate.path} and the baseline {baseline.path} share no sample id")
        n_only_b = len(set(baseline.samples) - set(shared))
        n_only_c = len(set(candidate.samples) - set(shared))
        if n_only_b:
            notes.append(f"{n_only_b} baseline sample(s) are not in the run and were left out")
        failed = sum(1 for i in shared if candidate.samples[i].status == "failed")
        sample_failure_rate = failed / len(shared)
    else:
        mode = "summary"
        shared = []
        n_only_b = n_only_c = 0
        n = candidate.summary.n_samples
        sample_failure_rate = candidate.summary.n_failed / n if n else 0.0
        notes.append("one side has no samples.jsonl: whole-run means compared, not shared samples")
    order = [k for k in baseline.summary.columns if k in base_metrics]  # headline first
    for key in order + sorted(set(base_metrics) - set(order)):
        bmeta = base_metrics[key]
        allowed, rule = _allowed_drop(bmeta, gate.metrics.get(key), gate.tolerance)
        higher = bmeta.higher_is_better
        sign = 1.0 if higher else -1.0
        if key not in cand_metrics:
            verdicts.append(Verdict(key, "missing", bmeta.mean, None, None, allowed, rule, higher))
            continue
        if mode == "samples":
            res = paired(_scores(baseline, shared, key), _scores(candidate, shared, key))
            v = Verdict(
                key,
                "ok",
                res.mean_a if res else None,
                res.mean_b if res else None,
                res.delta if res else None,
                allowed,
                rule,
                higher,
                res.ci95 if res else None,
                res.p_value if res else None,
                res.n if res else 0,
                _coverage(baseline, shared, key),
                _coverage(candidate, shared, key),
                _failure_rate(candidate, shared, key),
            )
        else:
            b, c = bmeta.mean, cand_metrics[key].mean
            v = Verdict(
                key,
                "ok",
                b,
                c,
                None if b is None or c is None else c - b,
                allowed,
                rule,
                higher,
                coverage_baseline=bmeta.coverage,
                coverage_candidate=cand_metrics[key].coverage,
                failure_rate=1.0 - cand_metrics[key].coverage,
            )
        if v.delta is None:
            v.verdict = "missing"
            v.notes.append("no sample has a score on both sides")
        elif sign * v.delta < -allowed - 1e-12:
            v.verdict = "regression"
        elif sign * v.delta < 0 and v.p_value is not None and v.p_value < gate.alpha:
            v.verdict = "significant-regression"
        elif (
            v.coverage_baseline is not None
            and v.coverage_candidate is not None
            and (v.coverage_candidate < v.coverage_baseline - max_coverage_drop - 1e-12)
        ):
            v.verdict = "coverage-drop"
        elif v.failure_rate is not None and v.failure_rate > max_failure_rate + 1e-12:
            v.verdict = "failure-rate"
        elif sign * v.delta > allowed:
            v.verdict = "improved"
        verdicts.append(v)
    notes += _served_notes(baseline.summary, candidate.summary)
    extra = sorted(set(cand_metrics) - set(base_metrics))
    if extra:
        notes.append(f"metric(s) not in the baseline, not gated: {', '.join(extra)}")
    if sample_failure_rate > max_failure_rate:
        notes.append(f"sample failure rate {sample_failure_rate:.1%} is over the limit {max_failure_rate:.1%}")
    return Comparison(
        candidate=str(candidate.path),
        baseline=str(baseline.path),
        suite=candidate.suite,
        mode=mode,
        n_shared=len(shared),
        n_only_baseline=n_only_b,
        n_only_candidate=n_only_c,
        sample_failure_rate=sample_failure_rate,
        max_failure_rate=max_failure_rate,
        alpha=gate.alpha,
        verdicts=verdicts,
        notes=notes,
    )


def _served_notes(base: Summary, cand: Summary) -> list[str]:
    """A judge column whose scores were served by other models or backends on the two sides (summary.json's
    judge_reliability fingerprints): part of a difference there may be the judge's, not the system's."""
    notes = []
    theirs, ours = base.judge_reliability, cand.judge_reliability
    for col in sorted(set(theirs) & set(ours)):
        a, b = theirs[col].get("fingerprints"), ours[col].get("fingerprints")
        if isinstance(a, dict) and isinstance(b, dict) and set(a["served"]) != set(b["served"]):
            notes.append(
                f"{col} was served by {', '.join(sorted(a['served']))} for the baseline and by "
                f"{', '.join(sorted(b['served']))} for the run: part of its difference may be the judge's"
            )
    return notes


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "–" if x is None else format(x, fmt)


def render_text(c: Comparison) -> str:
    """A plain-text verdict table (what a CI log shows)."""
    head = [
        "metric",
        "better",
        "verdict",
        "baseline",
        "run",
        "delta",
        "fails if worse by more than",
        "95% CI of delta",
        f"p (fails if worse and < {c.alpha:g})" if c.alpha > 0 else "p (not gated)",
        "coverage",
    ]
    rows = [head]
    for v in c.verdicts:
        ci = f"[{v.ci95[0]:+.3f}, {v.ci95[1]:+.3f}]" if v.ci95 else "–"
        cov = (
            f"{_num(v.coverage_baseline, '.1%')} -> {_num(v.coverage_candidate, '.1%')}"
            if v.coverage_candidate is not None
            else "–"
        )
        delta = "–" if v.delta is None else f"{v.delta:+.3f}"
        rows.append(
            [
                v.metric,
                "higher" if v.higher_is_better else "lower",
                v.verdict.upper() if v.failed else v.verdict,
                _num(v.baseline),
                _num(v.candidate),
                delta,
                f"{_num(v.allowed_drop)} ({v.rule})" if v.rule else _num(v.allowed_drop),
                ci,
                _num(v.p_value, ".3g"),
                cov,
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        f"compare {c.candidate} against baseline {c.baseline} (suite {c.suite}, {c.mode} mode, "
        f"{c.n_shared} shared sample(s))"
    ]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"sample failure rate {c.sample_failure_rate:.1%} (limit {c.max_failure_rate:.1%})")
    lines += [f"note: {n}" for n in c.notes]
    reasons = [f"{v.metric} {v.verdict}" for v in c.verdicts if v.failed]
    if c.sample_failure_rate > c.max_failure_rate:
        reasons.append("sample failure rate")
    lines.append("PASS" if c.passed else "FAIL: " + ", ".join(reasons))
    return "\n".join(lines) + "\n"
