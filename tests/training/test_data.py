"""MIRA-Editing data construction on the shapes world and on hand-made trajectories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mirabench.registry import editors, metrics
from mirabench.training.data import STOP_TARGET, Candidate, EditSession, ShapesRewriter, aggregate, build, decompose


def test_decompose_gives_start_continue_stop() -> None:
    c = Candidate("s", "in-order", "C", ("u1", "u2", "u3"), ("h1", "h2", "h3"), 9.0, "shapes")
    rows = decompose("h0", c)
    assert [(r["kind"], r["latest"], r["target"]) for r in rows] == [
        ("start", "h0", "u1"),
        ("continue", "h1", "u2"),
        ("continue", "h2", "u3"),
        ("stop", "h3", STOP_TARGET),
    ]
    assert all(r["source"] == "h0" and r["instruction"] == "C" for r in rows)


def test_aggregation_keeps_execution_order_and_permutes_text() -> None:
    session = EditSession("x", Path("unused.png"), ("make the sky pink", "remove the dog", "add a hat"), "test")
    variants = aggregate(session, np.random.default_rng(0))
    assert [v.name for v in variants] == ["in-order", "permuted"]
    inorder, permuted = variants
    text = inorder.instruction.lower()
    assert text.index("sky") < text.index("dog") < text.index("hat")
    positions = [permuted.instruction.lower().index(w) for w in ("sky", "dog", "hat")]
    assert positions != sorted(positions)
    assert inorder.turns == permuted.turns == session.turns


def test_shapes_rewriter_preserves_meaning() -> None:
    from mirabench.shapes import make_task, parse, resolve

    rng = np.random.default_rng(3)
    task = make_task(rng, 3)
    rw = ShapesRewriter()
    for clause in task.clauses:
        assert resolve(parse(rw.atomic(clause, rng)), task.source) == resolve(parse(clause), task.source)


def test_build_on_shapes_ranks_candidates_and_resumes(tmp_path: Path) -> None:
    from mirabench.training.data import shapes_sessions

    editor = editors.build("shapes", error_rate=0.3)
    metric = metrics.build("shapes")
    stats = build(shapes_sessions(12, seed=1), tmp_path / "d", editor, metric, rewriter=ShapesRewriter(), rewrites=2)
    records = [json.loads(x) for x in (tmp_path / "d" / "candidates.jsonl").read_text().splitlines()]
    assert len(records) == 12
    for rec in records:
        scores = {c["variant"]: c["score"] for c in rec["candidates"]}
        assert scores[rec["kept"]] == max(scores.values())  # top-1 kept
        assert len(scores) == (6 if len(rec["candidates"][0]["turns"]) > 1 else 3)
    kinds = stats["rows"]
    n_turns = sum(int(k) * v for k, v in stats["subtasks_per_instruction"].items())
    assert kinds["start"] == kinds["stop"] == 12 and kinds["start"] + kinds.get("continue", 0) == n_turns
    assert stats["editors"] == {"shapes": 12}

    from datasets import load_from_disk

    ds = load_from_disk(str(tmp_path / "d" / "dataset"))
    assert len(ds) == sum(kinds.values())
    row = ds[0]
    assert row["kind"] == "start" and len(row["images"]) == 2 and row["images"][0].size == (256, 256)
    assert np.array_equal(np.asarray(row["images"][0]), np.asarray(row["images"][1]))  # start: I_{t-1} = I0

    before = (tmp_path / "d" / "candidates.jsonl").read_text()
    build(shapes_sessions(14, seed=1), tmp_path / "d", editor, metric, rewriter=ShapesRewriter(), rewrites=2)
    after = (tmp_path / "d" / "candidates.jsonl").read_text()
    assert after.startswith(before) and len(after.splitlines()) == 14  # only the 2 new sessions were built


def test_cli_builds_data_and_shipped_configs_are_valid(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mirabench.cli.root import app
    from mirabench.training.config import GRPOSettings, SFTSettings, TrainConfigError, load_settings

    res = CliRunner().invoke(
        app, ["data", "build-mira-editing", "--out", str(tmp_path / "d"), "--n", "3", "--set", "editor.error_rate=0.5"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "d" / "stats.json").read_text())["sessions_kept"] == 3
    root = Path(__file__).resolve().parents[2] / "configs"
    for name, kind in [
        ("sft-7b", SFTSettings),
        ("sft-3b", SFTSettings),
        ("grpo-7b", GRPOSettings),
        ("grpo-3b", GRPOSettings),
    ]:
        settings = load_settings(root / f"{name}.yaml", kind, {})
        assert settings.max_steps == (1300 if kind is SFTSettings else 200)
    grpo = load_settings(root / "grpo-7b.yaml", GRPOSettings, {})
    assert (grpo.num_generations, grpo.beta, grpo.learning_rate, grpo.lambda_sc, grpo.lambda_pq) == (
        5,
        0.04,
        5e-6,
        2.0,
        0.5,
    )
    with pytest.raises(TrainConfigError, match="max_stepz"):
        load_settings(root / "sft-7b.yaml", SFTSettings, {"max_stepz": 3})


def test_chat_rewriter_goes_through_the_judge_client(monkeypatch: pytest.MonkeyPatch) -> None:
    from fakes import FakeAPIServer

    from mirabench.backends.api_chat import ApiChat, ApiChatOptions
    from mirabench.training.data import ChatRewriter, Variant, rewrite

    def answer(text: str, body: object) -> str:
        command = text.rsplit(":", 1)[-1].strip()
        return "" if "FAIL" in command else f'"{command.upper()}"'

    with FakeAPIServer.running(answer=answer) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        chat = ApiChat("openai", ApiChatOptions(model="gpt-test", max_attempts=1))
        rewriter = ChatRewriter(chat)
        base = Variant("s", "in-order", "Paint it red, then FAIL here.", ("paint it red", "FAIL here"))
        _, rewritten = rewrite(base, rewriter, np.random.default_rng(0), 1)
        chat.close()
        assert rewritten.turns == ("PAINT IT RED", "FAIL here")  # an empty answer keeps the original wording
        assert rewritten.instruction == base.instruction and rewriter.failures == 2
        assert len(server.requests) == 3


def test_multi_turn_sources_are_read_from_their_published_layouts(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    from mirabench.data.files import MissingData
    from mirabench.training.data import imgedit_multiturn_sessions, seed_data_edit_sessions

    seed = tmp_path / "seed" / "multi_turn_editing"
    (seed / "annotations").mkdir(parents=True)
    (seed / "images" / "b1" / "Data").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(seed / "images" / "b1" / "Data" / "a.jpg")
    rows = [
        {
            "source_image": "b1/Data/a.jpg",
            "instruction_1": "add a hat",
            "instruction_2": "make it blue",
            "edit_image_1": "b1/Data/a_edit1.jpg",
        },
        {"source_image": "../../outside.jpg", "instruction_1": "x"},  # leaves the data root: skipped
        {"source_image": "b1/Data/missing.jpg", "instruction_1": "x"},  # image absent: skipped
    ]
    (seed / "annotations" / "split_0001.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{cut")
    got = seed_data_edit_sessions(tmp_path / "seed")
    assert [(s.turns, s.origin) for s in got] == [(("add a hat", "make it blue"), "seed-data-edit")]

    img = tmp_path / "imgedit"
    (img / "Parquet").mkdir(parents=True)
    (img / "Multiturn" / "results_memory_part1" / "42").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(img / "Multiturn" / "results_memory_part1" / "42" / "origin_1.png")
    turn = lambda i, p: {"input_images": [f"results_memory_part1/42/origin_{i}.png"], "output_images": [], "prompt": p}  # noqa: E731
    table = pa.table({"data": [[turn(1, "remove the cup"), turn(2, "add a plant")], [turn(1, "only one turn")]]})
    pq.write_table(table, img / "Parquet" / "content_memory_part1.parquet")
    pq.write_table(table, img / "Parquet" / "version_backtracking_part1.parquet")
    got = imgedit_multiturn_sessions(img)
    assert [s.turns for s in got] == [("remove the cup", "add a plant")]  # backtracking file and 1-turn row left out
    assert len(imgedit_multiturn_sessions(img, include_backtracking=True)) == 2
    with pytest.raises(MissingData, match="huggingface-cli download AILab-CVC"):
        seed_data_edit_sessions(tmp_path / "nowhere")
