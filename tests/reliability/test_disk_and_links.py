"""A full disk stops `run` (also a resume whose very first write fails) and `score` with one line and a
non-zero exit, losing nothing: freeing space and running the same command completes the run as if nothing had
happened. A data file swapped for a link after its row was checked is not followed."""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import faults
import pytest

import mirabench.images
from mirabench.cli import root as cli
from mirabench.images import ImageLoadError, source_image
from mirabench.registry import suites
from mirabench.run.runner import run
from mirabench.spec import RunSpec

ARGS = ["--suite", "toy", "--agent", "counter", "--editor", "toy", "--metrics", "grey", "--set", "suite.n=4"]


def cli_exit(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mirabench", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out + captured.err


def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every atomic file write (run.json, the writer's owner file, outputs, images) fails as on a full disk."""

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(mirabench.images, "atomic_write_bytes", full)


def outputs(run_dir: Path) -> tuple[str, str]:
    return (run_dir / "samples.jsonl").read_text(), (run_dir / "summary.json").read_text()


@pytest.mark.parametrize("command", ["run", "score"])
def test_a_full_disk_at_the_first_write_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, command: str
) -> None:
    reference = tmp_path / "reference"
    run(RunSpec(suite="toy", agent="counter", editor="toy", metrics=["grey"], suite_options={"n": 4}), reference)
    out = tmp_path / "run"
    faults.reset()  # count store calls from this run on
    monkeypatch.setenv(faults.ENV, "store:enospc:2")  # the first run stops mid-way: disk full
    code, text = cli_exit(monkeypatch, capsys, "run", *ARGS, "--out", str(out))
    assert code == 2 and "no space left" in text
    monkeypatch.delenv(faults.ENV)
    disk_full(monkeypatch)  # ... and it is still full when the user tries again
    again = ["run", *ARGS, "--out", str(out)] if command == "run" else ["score", str(out), "--metrics", "grey"]
    code, text = cli_exit(monkeypatch, capsys, *again)
    assert code == 2 and "Traceback" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no space left while writing"), text
    monkeypatch.undo()  # space freed: the same command finishes the run, nothing lost
    code, text = cli_exit(monkeypatch, capsys, "run", *ARGS, "--out", str(out))
    assert code == 0, text
    assert outputs(out) == outputs(reference)
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def jsonl_sample(tmp_path: Path, image: str) -> tuple[object, Path]:
    from toyworld import grey

    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    grey(0).save(data / "sub" / "a.png")
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    grey(99).save(outside / "secret.png")
    grey(99).save(outside / "sub" / "a.png")
    (data / "set.jsonl").write_text(json.dumps({"id": "a", "image": image, "instruction": "reach 10"}) + "\n")
    sample = next(iter(suites.build("jsonl", path=str(data / "set.jsonl")).samples()))
    assert source_image(sample).getpixel((0, 0)) == (0, 0, 0)  # checked and readable as the row was read
    return sample, data


def test_a_file_swapped_for_a_link_after_the_check_is_not_followed(tmp_path: Path) -> None:
    sample, data = jsonl_sample(tmp_path, "sub/a.png")
    (data / "sub" / "a.png").unlink()
    os.symlink(tmp_path / "outside" / "secret.png", data / "sub" / "a.png")
    with pytest.raises(ImageLoadError, match="became a symbolic link after it was checked"):
        source_image(sample)


def test_a_folder_swapped_for_a_link_after_the_check_is_not_followed(tmp_path: Path) -> None:
    sample, data = jsonl_sample(tmp_path, "sub/a.png")
    (data / "sub").rename(data / "sub-was")
    os.symlink(tmp_path / "outside" / "sub", data / "sub")
    with pytest.raises(ImageLoadError, match="now leads outside the data root"):
        source_image(sample)
