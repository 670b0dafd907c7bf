"""`--executor ray` on a local Ray bound to 127.0.0.1 (opt-in: `pytest -m ray`; needs the `[ray]` extra)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from mirabench.run.ray_executor import run_on_ray
from mirabench.run.runner import run
from mirabench.spec import RunSpec

pytestmark = pytest.mark.ray

SPEC = dict(
    suite="shapes",
    agent="heuristic",
    editor="shapes",
    metrics=["shapes"],
    max_steps=3,
    suite_options={"n": 12, "size": 64},
    editor_options={"error_rate": 0.2},
)


def listening() -> set[tuple[str, int]]:
    """(local address, port) of every listening TCP socket in this network namespace."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":  # LISTEN
                addr, port = local.split(":")
                out.add((addr, int(port, 16)))
    return out


LOOPBACK = {  # as /proc/net writes them: 127.0.0.1, ::1 and ::ffff:127.0.0.1
    "0100007F",
    "00000000000000000000000001000000",
    "0000000000000000FFFF00000100007F",
}


def test_ray_shards_equal_one_process_and_stay_on_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (extra [ray])")
    assert "ray" not in sys.modules, "ray was imported before run_on_ray could keep it on loopback"
    monkeypatch.setenv("MIRABENCH_CACHE_DIR", str(tmp_path / "cache"))  # visible to the Ray workers too
    reference = run(RunSpec(**SPEC), tmp_path / "one", use_cache=False)  # type: ignore[arg-type]
    before = listening()
    seen: set[tuple[str, int]] = set()

    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's unix sockets need a short path
    stop = threading.Event()

    def watch() -> None:  # the sockets while the cluster is up (ray is imported by run_on_ray, not here)
        while not stop.wait(0.1):
            seen.update(listening())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = run_on_ray(
            RunSpec(**SPEC),  # type: ignore[arg-type]
            tmp_path / "ray",
            shards=3,
            use_cache=False,
            init_options={"num_cpus": 2, "object_store_memory": 80 * 2**20, "_temp_dir": ray_tmp},
        )
    finally:
        stop.set()
        watcher.join()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    opened = seen - before
    assert opened, "Ray opened no listening socket: the check saw nothing"
    assert {addr for addr, _ in opened} <= LOOPBACK, f"Ray listens beyond loopback: {opened}"
    assert result.merged and result.stats.agent_calls == reference.stats.agent_calls
    for name in ("samples.jsonl", "summary.json"):
        assert (tmp_path / "ray" / name).read_text() == (reference.run_dir / name).read_text()
    assert json.loads((tmp_path / "ray" / "run.json").read_text())["shards"]["ranks_finished"] == [0, 1, 2]
