"""Sharded runs: ranks run their own samples into their own stores; the merge equals one process's run,
whatever the number of ranks, across kills and resumes with another world size."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from runprobe import committed_steps

from mirabench.run.runner import RunResult, merge_run, run
from mirabench.rundir.shards import Shard, ShardError, pin_local_device, shard_from_env
from mirabench.rundir.store import RunStore, read_thumbnails
from mirabench.spec import RunSpec
from mirabench.types import Score, ScoreStatus, StopReason

N = 30
SPEC: dict[str, Any] = dict(
    suite="shapes",
    agent="heuristic",
    editor="shapes",
    metrics=["shapes"],
    max_steps=4,
    budget_curve=True,
    suite_options={"n": N, "size": 64},
    editor_options={"error_rate": 0.2},
)
CLI = [
    "run",
    "--suite=shapes",
    "--agent=heuristic",
    "--editor=shapes",
    "--metrics=shapes",
    "--max-steps=4",
    "--budget-curve",
    f"--set=suite.n={N}",
    "--set=suite.size=64",
    "--set=editor.error_rate=0.2",
    "--no-cache",
]


def spec() -> RunSpec:
    return RunSpec(**SPEC)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run(spec(), tmp_path_factory.mktemp("ref") / "run", use_cache=False)


def same_outputs(run_dir: Path, ref: Path) -> None:
    for name in ("samples.jsonl", "summary.json"):
        assert (run_dir / name).read_text() == (ref / name).read_text(), name
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == N


def run_shards(out: Path, world: int, ranks: list[int] | None = None) -> list[RunResult]:
    return [run(spec(), out, shard=Shard(r, world), use_cache=False) for r in ranks or range(world)]


def test_shard_from_launcher_environment() -> None:
    assert shard_from_env({}) is None
    assert shard_from_env({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == Shard(1, 4)
    assert shard_from_env({"RANK": "0", "WORLD_SIZE": "1"}) is None  # one process: not sharded
    array = {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_COUNT": "3"}
    assert shard_from_env(array) == Shard(2, 3)
    assert shard_from_env({"SLURM_PROCID": "3", "SLURM_NTASKS": "8"}) == Shard(3, 8)
    both = {"RANK": "1", "WORLD_SIZE": "2", "SLURM_PROCID": "0", "SLURM_NTASKS": "1"}
    assert shard_from_env(both) == Shard(1, 2)  # torchrun inside a SLURM allocation: torchrun's ranks
    assert Shard.parse("2/5") == Shard(2, 5)
    for bad in ("2", "a/b", "5/5", "-1/2"):
        with pytest.raises(ShardError):
            Shard.parse(bad)
    with pytest.raises(ShardError, match="not integers"):
        shard_from_env({"RANK": "x", "WORLD_SIZE": "2"})


def test_each_rank_takes_its_local_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    chosen: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    pin_local_device({"LOCAL_RANK": "6"})
    pin_local_device({"SLURM_LOCALID": "1"})
    pin_local_device({})  # not launched per GPU: leave the device alone
    assert chosen == [2, 1]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    pin_local_device({"LOCAL_RANK": "3"})  # one GPU (e.g. a SLURM array task's own): nothing to choose
    assert chosen == [2, 1]


def test_gpus_per_rank_narrows_the_visible_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # as in a fresh `mirabench run` process
    env = {"LOCAL_RANK": "1"}
    pin_local_device(env, gpus_per_rank=2)
    assert env["CUDA_VISIBLE_DEVICES"] == "2,3"  # rank 1's cuda:0 and cuda:1
    env = {"SLURM_LOCALID": "2", "CUDA_VISIBLE_DEVICES": "4,5,6,7,0,1"}
    pin_local_device(env, gpus_per_rank=2)
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"
    with pytest.raises(ShardError, match="needs GPUs 6..7: 6 visible"):
        pin_local_device({"LOCAL_RANK": "3", "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5"}, gpus_per_rank=2)


def test_three_ranks_merge_to_the_single_process_result(
    tmp_path: Path, reference: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mirabench.editors.shapes import ShapesEditor

    monkeypatch.setattr(ShapesEditor, "run_info", lambda self: {"ledger": "one per rank"})  # as an API editor's
    out = tmp_path / "run"
    results = run_shards(out, 3)
    assert [r.merged for r in results] == [False, False, True]  # the last rank to finish merges
    assert not results[0].summary and results[2].summary == json.loads((out / "summary.json").read_text())
    same_outputs(out, reference.run_dir)
    for rank in range(3):  # each rank ran only its own samples, in its own store
        with sqlite3.connect(out / "shards" / f"{Shard(rank, 3).name}.sqlite") as db:
            ran = {sid for (sid,) in db.execute("SELECT DISTINCT sample_id FROM steps")}
        assert ran == {f"shapes-{i:05d}" for i in range(rank, N, 3)}
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "complete" and manifest["shards"]["ranks_finished"] == [0, 1, 2]
    assert manifest["calls"]["agent"] == reference.stats.agent_calls  # no sample ran twice, none was skipped
    assert manifest["calls"]["editor"] == reference.stats.editor_calls
    assert manifest["backend_info"] == {"editor": [{"ledger": "one per rank"}] * 3}
    # the gallery's thumbnails, made by each rank in its own store, are all in the merged store
    assert read_thumbnails(out / "store.sqlite") == read_thumbnails(reference.run_dir / "store.sqlite") != {}

    again = merge_run(out)  # idempotent
    assert again.summary == results[2].summary
    same_outputs(out, reference.run_dir)
    remerged = json.loads((out / "run.json").read_text())
    stamps = ("ended", "updated")  # timestamps: a merge a second later must change nothing else
    assert {k: v for k, v in remerged.items() if k not in stamps} == {
        k: v for k, v in manifest.items() if k not in stamps
    }


def test_resume_with_another_number_of_ranks(tmp_path: Path, reference: RunResult) -> None:
    out = tmp_path / "run"
    first = run_shards(out, 2, ranks=[1])  # rank 0 of the first attempt never ran (or was lost)
    assert not first[0].merged and not (out / "summary.json").exists()

    second = run_shards(out, 3)  # three ranks take over: rank 1/2's samples are not redone
    assert second[-1].merged
    same_outputs(out, reference.run_dir)
    redone = sum(r.stats.agent_calls for r in second)
    assert redone == reference.stats.agent_calls - first[0].stats.agent_calls

    single = run(spec(), out, use_cache=False)  # and a single process finds nothing left to do
    assert single.stats.agent_calls == 0
    same_outputs(out, reference.run_dir)


def test_a_single_process_resumes_a_sharded_run(tmp_path: Path, reference: RunResult) -> None:
    out = tmp_path / "run"
    partial = run_shards(out, 4, ranks=[0, 2])
    done = sum(r.stats.agent_calls for r in partial)
    resumed = run(spec(), out, use_cache=False)
    assert resumed.stats.agent_calls == reference.stats.agent_calls - done
    same_outputs(out, reference.run_dir)


def test_absorb_takes_the_further_trajectory_and_successful_scores(tmp_path: Path) -> None:
    a, b = RunStore(tmp_path / "a"), RunStore(tmp_path / "b")
    try:
        for store in (a, b):
            store.add_samples([("s1", 0, "c", "do it"), ("s2", 1, "c", "do it")])
        a.fail_sample("s1", "an early failure")
        b.record_wave([], sources=[("s1", "h0")], finished=[("s1", StopReason.AGENT, None)])
        ok, api_error = Score(0.5, ScoreStatus.OK), Score.failed(ScoreStatus.API_ERROR, "503")
        a.put_scores([("s1", "h0", "m", "m", api_error), ("s2", "h0", "m", "m", ok)])
        b.put_scores([("s1", "h0", "m", "m", ok), ("s2", "h0", "m", "m", api_error)])
        assert a.absorb(b.path) == 1
        assert a.absorb(b.path) == 0  # idempotent
        records = {r.id: r for r in a.records()}
        assert records["s1"].status == "done" and records["s1"].source_image == "h0"
        assert records["s2"].status == "pending"
        scores = a.scores()
        assert scores[("s1", "h0")]["m"].status is ScoreStatus.OK  # a success replaces a retryable failure
        assert scores[("s2", "h0")]["m"].status is ScoreStatus.OK  # and is never replaced by one
    finally:
        a.close()
        b.close()


def test_absorb_leaves_scores_made_under_another_metric_config(tmp_path: Path) -> None:
    a, b = RunStore(tmp_path / "a"), RunStore(tmp_path / "b")
    try:
        for store in (a, b):
            store.add_samples([("s1", 0, "c", "do it")])
        a.use_metric_configs({"m": "new", "k": "same"})
        b.use_metric_configs({"m": "old", "k": "same", "other": "x"})
        ok = Score(1.0, ScoreStatus.OK)
        b.put_scores([("s1", "h", "m", "m", ok), ("s1", "h", "k", "k", ok), ("s1", "h", "other", "other", ok)])
        a.absorb(b.path)
        assert set(a.scores()[("s1", "h")]) == {"k", "other"}  # m's score was made under its old config
        assert a.use_metric_configs({"other": "x"}) == {}  # the adopted config came along with its scores
        assert a.use_metric_configs({"other": "y"}) == {"other": 1}
    finally:
        a.close()
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "MIRABENCH_CACHE_DIR": str(cache), "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}


def test_torchrun_two_ranks_on_loopback_equal_one_process(tmp_path: Path, reference: RunResult) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "run"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2"]
    rendezvous = ["--master-addr=127.0.0.1", f"--master-port={_free_port()}"]
    done = subprocess.run(
        [*launcher, *rendezvous, "-m", "mirabench", *CLI, "--out", str(out)],
        env=_env(tmp_path / "cache"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "merged all shards" in done.stderr
    same_outputs(out, reference.run_dir)
    assert sorted(p.name for p in (out / "shards").glob("*.sqlite")) == [
        "rank-0000-of-0002.sqlite",
        "rank-0001-of-0002.sqlite",
    ]


def test_kill_one_rank_then_resume(tmp_path: Path, reference: RunResult) -> None:
    out, env = tmp_path / "run", _env(tmp_path / "cache")
    slow = [*CLI, "--max-live=2", "--out", str(out)]  # small waves: a rank commits many times
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mirabench", *slow, f"--shard={rank}/2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for rank in range(2)
    ]
    victim = out / "shards" / f"{Shard(1, 2).name}.sqlite"
    deadline = time.monotonic() + 120
    while procs[1].poll() is None and time.monotonic() < deadline and committed_steps(victim) < 10:
        time.sleep(0.01)
    procs[1].send_signal(signal.SIGKILL)
    assert procs[1].wait() == -signal.SIGKILL, "rank 1 finished before it could be killed"
    assert procs[0].wait(timeout=120) == 0
    assert not (out / "summary.json").exists()  # rank 0 did not merge: rank 1 never finished

    run_shards(out, 3)  # resume with another world size
    same_outputs(out, reference.run_dir)
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    assert not list((out / "images").glob(".*.tmp"))


def test_status_shows_each_shard_while_a_run_is_unfinished(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mirabench.cli.root import app
    from mirabench.rundir.status import run_status

    out = tmp_path / "run"
    run_shards(out, 3, ranks=[0, 2])  # rank 1 has not run yet
    manifest, stores = run_status(out)
    assert manifest["status"] == "running" and [p.name for p in stores] == [Shard(0, 3).name, Shard(2, 3).name]
    assert [(p.total, p.pending, p.finished_rank) for p in stores] == [(10, 0, True), (10, 0, True)]
    assert all(p.done + p.failed == 10 and p.steps > 0 for p in stores)
    shown = CliRunner().invoke(app, ["status", str(out)], env={"COLUMNS": "250"})
    assert shown.exit_code == 0 and "last sharded as 3 ranks" in shown.output and Shard(2, 3).name in shown.output

    run_shards(out, 3, ranks=[1])  # the last rank finishes and merges: the run's store holds every sample
    manifest, stores = run_status(out)
    merged = stores[0]
    assert manifest["status"] == "complete" and merged.name == "store.sqlite"
    assert (merged.total, merged.pending, merged.running) == (N, 0, 0)
    assert merged.steps == sum(p.steps for p in stores[1:])


def test_an_empty_shard_file_is_nothing_and_a_corrupt_one_is_named(tmp_path: Path, reference: RunResult) -> None:
    out = tmp_path / "run"
    run_shards(out, 2, ranks=[1])
    (out / "shards" / f"{Shard(0, 2).name}.sqlite").touch()  # a rank killed before its store had a schema
    run_shards(out, 3)
    same_outputs(out, reference.run_dir)

    bad = tmp_path / "bad"
    run_shards(bad, 2, ranks=[1])
    (bad / "shards" / f"{Shard(1, 2).name}.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ValueError, match=r"rank-0001-of-0002.sqlite is not a readable mirabench store.*move it aside"):
        run(spec(), bad, shard=Shard(0, 3), use_cache=False)
