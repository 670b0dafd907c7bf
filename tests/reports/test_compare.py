"""`mirabench compare`: verdicts on shared samples, refusals, exit codes, and the committed demo baseline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mirabench.reports.compare import CompareError, Gate, compare, load_side, parse_tolerances
from mirabench.run.demo import demo_spec
from mirabench.run.runner import run
from mirabench.types import Stop

BASELINE = Path(__file__).resolve().parents[2] / "results" / "baselines" / "shapes-demo"


def write_run(
    path: Path,
    scores: dict[str, float | None],
    *,
    suite: str = "s",
    version: str = "v1",
    metric: str = "m",
    span: tuple[float, float] = (0, 10),
    **kw: object,
) -> Path:
    """A minimal run directory following the contract: run.json, summary.json, samples.jsonl."""
    path.mkdir(parents=True)
    status = kw.get("status", {})
    rows = [
        {
            "id": sid,
            "instruction": f"do {sid}",
            "status": status.get(sid, "done") if isinstance(status, dict) else "done",
            "scores": {metric: v},
            "score_status": {metric: "ok" if v is not None else "api_error"},
        }
        for sid, v in scores.items()
    ]
    vals = [v for v in scores.values() if v is not None]
    summary = {
        "suite": suite,
        "n_samples": len(rows),
        "n_failed": sum(r["status"] == "failed" for r in rows),
        "metrics": {
            metric: {
                "mean": sum(vals) / len(vals) if vals else None,
                "coverage": len(vals) / len(rows),
                "range": list(span),
                "higher_is_better": kw.get("higher_is_better", True),
            }
        },
    }
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "run.json").write_text(json.dumps({"plugins": {"suite_data_version": version}}))
    (path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def verdict(result: object, key: str = "m") -> str:
    return next(v.verdict for v in result.verdicts if v.metric == key)  # type: ignore[attr-defined]


def test_tolerance_is_a_fraction_of_the_range_and_only_shared_samples_count(tmp_path: Path) -> None:
    base = load_side(write_run(tmp_path / "b", {"a": 8.0, "b": 6.0, "gone": 0.0}))
    # on the shared samples a, b the mean drops from 7.0 to 6.6: 0.4 points, 4% of the 0-10 range
    cand = load_side(write_run(tmp_path / "c", {"a": 7.6, "b": 5.6, "new": 10.0}))
    res = compare(cand, base, Gate(tolerance=0.05))
    v = res.verdicts[0]
    assert (res.n_shared, res.n_only_baseline, res.n_only_candidate) == (2, 1, 1)
    assert v.baseline == pytest.approx(7.0) and v.candidate == pytest.approx(6.6) and v.delta == pytest.approx(-0.4)
    assert v.allowed_drop == pytest.approx(0.5) and v.verdict == "ok" and res.passed
    res = compare(cand, base, Gate(tolerance=0.03))  # 0.3 allowed: the 0.4 drop is a regression
    assert verdict(res) == "regression" and not res.passed
    assert compare(cand, base, parse_tolerances(["0.03", "m=0.1"], Gate())).passed
    assert verdict(compare(load_side(write_run(tmp_path / "up", {"a": 9.0, "b": 8.0})), base)) == "improved"


def test_lower_is_better_metrics_regress_upwards(tmp_path: Path) -> None:
    base = load_side(write_run(tmp_path / "b", {"a": 1.0, "b": 1.0}, higher_is_better=False))
    cand = load_side(write_run(tmp_path / "c", {"a": 2.0, "b": 2.0}, higher_is_better=False))
    assert verdict(compare(cand, base)) == "regression"


def test_rare_lower_is_better_metric_growing_tenfold_fails_by_significance_and_by_gate_file(tmp_path: Path) -> None:
    """shapes-collateral 0.010 -> 0.110 on 100 shared samples: inside 5% of its 0-12 range, but p ~ 0.002."""
    kw: dict[str, object] = {"metric": "shapes-collateral", "span": (0, 12), "higher_is_better": False}
    base = write_run(tmp_path / "b", {f"s{i}": 1.0 if i == 0 else 0.0 for i in range(100)}, **kw)
    cand = write_run(tmp_path / "c", {f"s{i}": 1.0 if i <= 10 else 0.0 for i in range(100)}, **kw)
    res = cli("compare", str(cand), "--baseline", str(base))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "shapes-collateral  lower   SIGNIFICANT-REGRESSION  0.010     0.110  +0.100" in res.stdout
    assert "fails if worse by more than" in res.stdout and "0.600 (0.05x range 0-12)" in res.stdout
    assert "p (fails if worse and < 0.05)" in res.stdout
    p = next(v.p_value for v in compare(load_side(cand), load_side(base)).verdicts)
    assert p is not None and 0.0005 < p < 0.005
    res = cli("compare", str(cand), "--baseline", str(base), "--alpha", "0")  # the old gate: a 5%-of-range threshold
    assert res.returncode == 0 and "PASS" in res.stdout and "p (not gated)" in res.stdout
    (tmp_path / "gate.yaml").write_text("alpha: 0\nmetrics:\n  shapes-collateral: {relative: 0.5, absolute: 0.2}\n")
    res = cli("compare", str(cand), "--baseline", str(base), "--gate", str(tmp_path / "gate.yaml"), "--format", "json")
    assert res.returncode == 1
    (v,) = json.loads(res.stdout)["verdicts"]
    assert v["verdict"] == "regression" and v["allowed_drop"] == pytest.approx(0.005) and v["rule"] == "0.5x baseline"
    (tmp_path / "typo.yaml").write_text("metrics:\n  shapes-collateral: {relativ: 0.5}\n")
    res = cli("compare", str(cand), "--baseline", str(base), "--gate", str(tmp_path / "typo.yaml"))
    assert res.returncode == 2 and "metrics.shapes-collateral.relativ" in res.stderr


def test_coverage_drop_and_failure_rates_fail_the_gate(tmp_path: Path) -> None:
    base = load_side(write_run(tmp_path / "b", {f"s{i}": 5.0 for i in range(50)}))
    one_missing = {f"s{i}": (None if i == 0 else 5.0) for i in range(50)}
    cand = load_side(write_run(tmp_path / "c", one_missing))
    res = compare(cand, base)  # 2% judge failures, coverage 100% -> 98%
    assert verdict(res) == "coverage-drop" and not res.passed
    assert verdict(compare(cand, base, Gate(max_coverage_drop=0.05))) == "ok"  # 2% is not over the 2% failure limit
    two_missing = {f"s{i}": (None if i < 2 else 5.0) for i in range(50)}
    cand2 = load_side(write_run(tmp_path / "c2", two_missing))
    assert verdict(compare(cand2, base, Gate(max_coverage_drop=0.05))) == "failure-rate"  # 4% > 2%
    failed = load_side(
        write_run(tmp_path / "f", {f"s{i}": 5.0 for i in range(50)}, status={"s1": "failed", "s2": "failed"})
    )
    res = compare(failed, base)
    assert res.sample_failure_rate == pytest.approx(0.04) and not res.passed
    assert compare(failed, base, Gate(max_failure_rate=0.05)).passed


def test_other_suite_data_version_or_data_is_refused(tmp_path: Path) -> None:
    base = load_side(write_run(tmp_path / "b", {"a": 1.0}))
    with pytest.raises(CompareError, match="suite 's'.*'other'"):
        compare(load_side(write_run(tmp_path / "c1", {"a": 1.0}, suite="other")), base)
    with pytest.raises(CompareError, match="data version 'v1'.*'v2'"):
        compare(load_side(write_run(tmp_path / "c2", {"a": 1.0}, version="v2")), base)
    c3 = write_run(tmp_path / "c3", {"a": 1.0})
    row = json.loads((c3 / "samples.jsonl").read_text())
    row["instruction"] = "something else"
    (c3 / "samples.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(CompareError, match="sample 'a' has another instruction"):
        compare(load_side(c3), base)
    with pytest.raises(CompareError, match="share no sample"):
        compare(load_side(write_run(tmp_path / "c4", {"z": 1.0})), base)


def test_summary_only_baseline_compares_whole_run_means(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", {"a": 8.0, "b": 6.0})
    (b / "samples.jsonl").unlink()
    res = compare(load_side(write_run(tmp_path / "c", {"a": 4.0, "b": 4.0})), load_side(b / "summary.json"))
    assert res.mode == "summary" and verdict(res) == "regression" and "whole-run means" in res.notes[0]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from mirabench.cli.root import main; sys.argv = ['mirabench', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_committed_baseline_gates_the_demo_and_catches_a_weaker_heuristic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dogfooding gate of .ci/run: today's heuristic passes; one that stops after two edits fails."""
    good = run(demo_spec("heuristic"), tmp_path / "good").run_dir
    res = cli("compare", str(good), "--baseline", str(BASELINE / "heuristic"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "PASS" in res.stdout and "100 shared" in res.stdout

    from mirabench.agents.heuristic import HeuristicAgent

    plan = HeuristicAgent.plan
    monkeypatch.setattr(HeuristicAgent, "plan", lambda self, s: Stop("lazy") if s.step >= 2 else plan(self, s))
    weak = run(demo_spec("heuristic"), tmp_path / "weak").run_dir
    res = cli("compare", str(weak), "--baseline", str(BASELINE / "heuristic"), "--format", "json")
    assert res.returncode == 1, res.stdout + res.stderr
    out = json.loads(res.stdout)
    assert out["passed"] is False
    verdicts = {v["metric"]: v for v in out["verdicts"]}
    assert verdicts["shapes-sc"]["verdict"] == "regression" and verdicts["shapes-sc"]["delta"] < -1.0
    assert verdicts["shapes-sc"]["p_value"] < 0.001


def test_cli_refusal_is_one_clear_line(tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(BASELINE / "direct", other)
    summary = json.loads((other / "summary.json").read_text())
    summary["suite"] = "mira500"
    (other / "summary.json").write_text(json.dumps(summary))
    res = cli("compare", str(other), "--baseline", str(BASELINE / "direct"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "only gates runs of its own suite" in res.stderr
