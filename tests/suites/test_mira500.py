"""`mirabench data build-mira500` from MagicBrush / CompBench layouts, and the `mira500` suite reading it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from layouts import MB_TURNS
from typer.testing import CliRunner

from mirabench.cli.root import app
from mirabench.data.files import MissingData
from mirabench.data.mira500 import build_mira500, compbench_sessions, complex_instruction, magicbrush_sessions
from mirabench.registry import suites


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_magicbrush_sessions_from_the_hub_parquet_and_the_test_zip_agree(
    magicbrush_root: Path, magicbrush_zip: Path
) -> None:
    hub = magicbrush_sessions(magicbrush_root)
    zipped = magicbrush_sessions(magicbrush_zip)
    assert [(s.key, s.turns) for s in hub] == [(k, tuple(t)) for k, t in sorted(MB_TURNS.items())]
    assert [(s.key, s.turns) for s in zipped] == [(s.key, s.turns) for s in hub]
    assert all(s.image.startswith(b"\x89PNG") for s in hub)


def test_compbench_multi_turn_sessions(compbench_root: Path) -> None:
    got = {s.key: s.turns for s in compbench_sessions(compbench_root)}
    assert got == {
        "add-s1.png": ("add a lamp", "add a cat"),
        "add-s2.png": ("add a vase", "add a rug"),
        "remove-s1.png": ("remove the bag", "remove the cup"),
    }


def test_complex_instruction_wording() -> None:
    assert complex_instruction(["Put a hat on him.", "Make the hat red"], ordered=True) == (
        "Put a hat on him, then make the hat red."
    )
    assert complex_instruction(["add a dog", "Make the TV bigger", "Add snow."], ordered=False) == (
        "Add a dog, make the TV bigger, and add snow."
    )
    assert complex_instruction(["add a dog", "TV off"], ordered=False) == "Add a dog and TV off."


def test_build_is_seeded_and_mixes_in_order_and_permuted(
    magicbrush_root: Path, compbench_root: Path, tmp_path: Path
) -> None:
    kw = {"magicbrush": magicbrush_root, "compbench": compbench_root, "n": 5, "permuted": 0.5}
    a = build_mira500(tmp_path / "a", seed=1, **kw)  # type: ignore[arg-type]
    b = build_mira500(tmp_path / "b", seed=1, **kw)  # type: ignore[arg-type]
    c = build_mira500(tmp_path / "c", seed=2, **kw)  # type: ignore[arg-type]
    assert a.sha256 == b.sha256 and a.n == 5
    assert a.pool == {"compbench": 3, "magicbrush": 3}  # session 300 has one turn: not a complex instruction
    assert c.sha256 != a.sha256
    every = rows(a.path) + rows(c.path)
    assert {r["order"] for r in every} == {"in-order", "permuted"}
    sessions = {**{k: t for k, t in MB_TURNS.items()}}
    for r in every:
        assert r["category"] == f"{len(r['atomic'])}-edits"
        assert (tmp_path / ("a" if r in rows(a.path) else "c") / r["image"]).is_file()
        if r["order"] == "permuted":
            assert r["turn_order"] != sorted(r["turn_order"])
        else:
            assert r["turn_order"] == sorted(r["turn_order"]) and ", then " in r["instruction"]
        if r["source"] == "magicbrush":
            assert r["atomic"] == [sessions[r["session"]][i].strip() for i in r["turn_order"]]


def test_share_option_and_min_turns(magicbrush_root: Path, compbench_root: Path, tmp_path: Path) -> None:
    rep = build_mira500(tmp_path / "o", magicbrush=magicbrush_root, compbench=compbench_root, n=4, compbench_share=0.5)
    assert rep.counts["source"] == {"compbench": 2, "magicbrush": 2}
    rep = build_mira500(tmp_path / "t", magicbrush=magicbrush_root, n=10, min_turns=3)
    assert rep.n == 1 and rows(rep.path)[0]["session"] == "100"


def test_suite_reads_the_built_file_from_mirabench_data(
    magicbrush_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_mira500(tmp_path / "data" / "mira500", magicbrush=magicbrush_root, n=3)
    monkeypatch.setenv("MIRABENCH_DATA", str(tmp_path / "data"))
    suite = suites.build("mira500")
    samples = list(suite.samples())
    assert [s.id for s in samples] == ["mb-100", "mb-200", "mb-400"]
    assert samples[0].atomic and samples[0].extra["source"] == "magicbrush"
    assert Path(samples[0].image).is_file()
    assert suite.data_version.startswith("mira500-1:")
    explicit = suites.build("mira500", path=str(tmp_path / "data" / "mira500" / "mira500.jsonl"))
    assert [s.id for s in explicit.samples()] == [s.id for s in samples]


def test_missing_inputs_say_what_to_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIRABENCH_DATA", raising=False)
    with pytest.raises(MissingData, match="osunlp/MagicBrush"):
        build_mira500(tmp_path / "o", magicbrush=tmp_path / "nope")
    with pytest.raises(MissingData, match="BohanJia/CompBench"):
        build_mira500(tmp_path / "o")
    with pytest.raises(MissingData, match="build-mira500"):
        list(suites.build("mira500").samples())


def test_default_run_without_data_names_the_build_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIRABENCH_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["run", "--agent", "direct", "--editor", "shapes", "--metrics", "shapes"])
    assert isinstance(res.exception, MissingData)  # main() prints it as one line and exits 2 (tests/test_cli.py)
    assert "mirabench data build-mira500" in str(res.exception) and "MIRABENCH_DATA" in str(res.exception)


def test_cli_build(magicbrush_zip: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["data", "build-mira500", "--magicbrush", str(magicbrush_zip), "--out", str(tmp_path / "m"), "--n", "9"]
    )
    assert res.exit_code == 0, res.output
    assert "wrote 3 samples" in res.output and "fewer than the 9" in res.output
    assert json.loads((tmp_path / "m" / "mira500.build.json").read_text())["n"] == 3
