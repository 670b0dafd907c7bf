"""pyiqa ARNIQA / TOPIQ with random weights placed where pyiqa looks, and the no-weights PSNR / SSIM."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mirabench.metrics.fullref import PSNR_CAP, psnr, ssim
from mirabench.plugins import ScoreItem
from mirabench.registry import PluginUnavailable, metrics
from mirabench.types import Sample, ScoreStatus


def items(*sizes: tuple[int, int]) -> list[ScoreItem]:
    rng = np.random.default_rng(0)
    out = []
    for i, size in enumerate(sizes):
        img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
        out.append(ScoreItem(Sample(f"s{i}", "x", img), img, img))
    return out


# -- psnr / ssim ---------------------------------------------------------------------------------------------


def test_psnr_by_hand_and_cap() -> None:
    a = np.full((8, 8, 3), 100.0)
    assert psnr(a, a + 10) == pytest.approx(10 * math.log10(255**2 / 100))  # MSE 100 -> 28.13 dB
    assert psnr(a, a) == PSNR_CAP
    src = Image.new("RGB", (8, 8), (100, 100, 100))
    out = metrics.build("psnr").score(ScoreItem(Sample("a", "x", src), src, Image.new("RGB", (16, 16), (110,) * 3)))
    assert out["psnr"].value == pytest.approx(28.1308, abs=1e-3) and out["psnr"].detail["resized"] is True


def test_ssim_matches_scikit_image_and_bounds() -> None:
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (40, 52, 3)).astype(float)
    b = np.clip(a + rng.normal(0, 25, a.shape), 0, 255)
    luma = [x @ np.array([0.299, 0.587, 0.114]) for x in (a, b)]
    ref = skm.structural_similarity(
        luma[0], luma[1], data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ssim(a, b) == pytest.approx(ref, abs=1e-9)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, b) < 1.0


# -- pyiqa ---------------------------------------------------------------------------------------------------


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("pyiqa")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def seed_arniqa(torch_home: Path, regressor: str = "regressor_koniq10k.pth") -> None:
    """Random-weight stand-ins under the three exact names pyiqa 0.1.16 reads (never committed)."""
    import torch
    import torchvision
    from torch import nn

    ckpt, piqa = torch_home / "hub" / "checkpoints", torch_home / "hub" / "pyiqa"
    ckpt.mkdir(parents=True)
    piqa.mkdir(parents=True)
    torch.manual_seed(0)
    r50 = torchvision.models.resnet50(weights=None)
    torch.save(r50.state_dict(), ckpt / "resnet50-0676ba61.pth")
    encoder = nn.Sequential(*list(r50.children())[:-1])
    torch.save({"model." + k: v for k, v in encoder.state_dict().items()}, ckpt / "ARNIQA.pth")
    torch.jit.script(nn.Linear(4096, 1)).save(str(piqa / regressor))


def seed_topiq(torch_home: Path) -> None:
    import torch
    from pyiqa.archs.topiq_arch import CFANet

    piqa = torch_home / "hub" / "pyiqa"
    piqa.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = CFANet(use_ref=False, pretrained=False, backbone_pretrain=False)
    torch.save({"params": net.state_dict()}, piqa / "cfanet_nr_koniq_res50-9a73138b.pth")


@pytest.mark.iqa
def test_missing_weights_name_the_exact_files(torch_home: Path) -> None:
    with pytest.raises(PluginUnavailable) as err:
        metrics.build("topiq")
    assert str(torch_home / "hub" / "pyiqa" / "cfanet_nr_koniq_res50-9a73138b.pth") in str(err.value)


@pytest.mark.iqa
@pytest.mark.parametrize("name", ["arniqa", "topiq"])
def test_random_weight_iqa_scores_batched_by_size_and_deterministic(torch_home: Path, name: str) -> None:
    (seed_arniqa if name == "arniqa" else seed_topiq)(torch_home)
    m = metrics.build(name, device="cpu", batch_size=2)
    batch = items((64, 64), (48, 64), (64, 64), (64, 64))
    first = m.score_batch(batch)
    alone = m.score_batch([batch[2]])[0][name]
    again = m.score_batch(batch)
    m.close()
    assert all(r[name].status is ScoreStatus.OK for r in first)
    values = [r[name].value for r in first]
    assert values == [r[name].value for r in again]
    assert alone.value == pytest.approx(values[2], abs=1e-4)  # batching does not change a score
    assert first[1][name].detail["size"] == [48, 64]
    info = m.identity()
    assert info["pyiqa_metric"] == ("arniqa" if name == "arniqa" else "topiq_nr")
