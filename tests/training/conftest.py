from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from training_chain import TEMPLATE  # noqa: E402


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Shapes training rows and a tiny random-weight Qwen2.5-VL base (fp32), built once per session."""
    from mirabench.registry import editors, metrics
    from mirabench.testing.qwen_vl import tiny_qwen25_vl
    from mirabench.training.data import build, shapes_sessions

    root = tmp_path_factory.mktemp("train")
    (root / "template.txt").write_text(TEMPLATE)
    build(shapes_sessions(6, seed=2, max_goals=3), root / "data", editors.build("shapes"), metrics.build("shapes"))
    return {
        "root": root,
        "base": tiny_qwen25_vl(root / "base"),
        "dataset": root / "data" / "dataset",
        "template": root / "template.txt",
    }
