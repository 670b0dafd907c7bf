"""`arniqa`, `topiq` and their dataset variants: no-reference image quality of the final image through pyiqa.

Weights come from the standard torch hub cache (`$TORCH_HOME/hub/...`, pyiqa's own files under `hub/pyiqa/`);
when they are missing and cannot be downloaded, building the metric fails with one message that names the exact
files and folders. TOPIQ is always built with `backbone_pretrain=False`: its checkpoint already holds the
backbone, and the default would fetch a timm backbone from the Hub for nothing. Images are scored at their own
resolution (as pyiqa does; ARNIQA's memory grows with size) unless `max_side` asks for a thumbnail, batched on the
device by size. pyiqa is non-commercial software (PolyForm Noncommercial / CC BY-NC-SA): an optional extra.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from mirabench.plugins import Column, Metric, Options, ScoreItem
from mirabench.registry import Needs, PluginUnavailable, metrics
from mirabench.types import Score

__all__ = ["IQAMetric", "IQAOptions", "weight_files"]

IQA = Needs(modules=("torch", "pyiqa"), extra="local")

ARNIQA_REGRESSORS = {
    "arniqa": "regressor_koniq10k.pth",
    "arniqa-live": "regressor_live.pth",
    "arniqa-csiq": "regressor_csiq.pth",
    "arniqa-tid": "regressor_tid2013.pth",
    "arniqa-kadid": "regressor_kadid10k.pth",
    "arniqa-clive": "regressor_clive.pth",
    "arniqa-flive": "regressor_flive.pth",
    "arniqa-spaq": "regressor_spaq.pth",
}
TOPIQ = {  # registry name -> (pyiqa name, checkpoint file)
    "topiq": ("topiq_nr", "cfanet_nr_koniq_res50-9a73138b.pth"),
    "topiq_nr-flive": ("topiq_nr-flive", "cfanet_nr_flive_res50-ded1c74e.pth"),
    "topiq_nr-spaq": ("topiq_nr-spaq", "cfanet_nr_spaq_res50-a7f799ac.pth"),
}


def weight_files(name: str, hub: Path) -> list[Path]:
    """Where pyiqa 0.1.16 reads each weight file of a variant (`hub` = torch.hub.get_dir())."""
    if name in ARNIQA_REGRESSORS:
        return [
            hub / "checkpoints" / "resnet50-0676ba61.pth",
            hub / "checkpoints" / "ARNIQA.pth",
            hub / "pyiqa" / ARNIQA_REGRESSORS[name],
        ]
    return [hub / "pyiqa" / TOPIQ[name][1]]


class IQAOptions(Options):
    device: str = Field("auto", description="auto (cuda if available), cpu, cuda, cuda:1, ...")
    batch_size: int = Field(8, ge=1)
    max_side: int | None = Field(None, ge=32, description="thumbnail before scoring; None = native resolution")


class IQAMetric(Metric):
    """One pyiqa NR metric on the final image; subclasses are generated per variant below."""

    pyiqa_name: ClassVar[str] = ""
    Options = IQAOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.opts: IQAOptions = self.options
        self._device = "cpu"
        self._net: Any = self._build()  # at build time: missing weights stop the run before any work

    def _build(self) -> Any:
        import torch

        hub = Path(torch.hub.get_dir())
        import pyiqa
        import pyiqa.utils.download_util as dl

        dl.DEFAULT_CACHE_DIR = str(hub / "pyiqa")  # pyiqa fixes it at import; honour TORCH_HOME as it is now
        device = self.opts.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        kwargs: dict[str, Any] = {"device": torch.device(device)}
        if self.pyiqa_name.startswith("topiq"):
            kwargs["backbone_pretrain"] = False
        try:
            net = pyiqa.create_metric(self.pyiqa_name, as_loss=False, **kwargs)
        except Exception as exc:
            missing = [str(p) for p in weight_files(self.name, hub) if not p.is_file()]
            if not missing:
                raise
            raise PluginUnavailable(
                f"metric {self.name!r} needs pyiqa weights that are missing and could not be downloaded "
                f"({type(exc).__name__}): put {', '.join(missing)} in place (torch hub dir {hub}, set by TORCH_HOME)."
            ) from None
        net.eval()
        self._device = device
        return net

    @property
    def net(self) -> Any:
        if self._net is None:
            self._net = self._build()
        return self._net

    def score_batch(self, items: Sequence[ScoreItem]) -> list[dict[str, Score]]:
        import numpy as np
        import torch

        key = self.columns[0].key
        images = []
        for it in items:
            img = it.edited.convert("RGB")
            if self.opts.max_side and max(img.size) > self.opts.max_side:
                img = img.copy()
                img.thumbnail((self.opts.max_side, self.opts.max_side))
            images.append(img)
        by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, img in enumerate(images):
            by_size[img.size].append(i)
        values: list[float] = [0.0] * len(items)
        net = self.net
        for idxs in by_size.values():
            for start in range(0, len(idxs), self.opts.batch_size):
                chunk = idxs[start : start + self.opts.batch_size]
                arr = np.stack([np.asarray(images[i], dtype=np.float32) / 255.0 for i in chunk])
                x = torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous().to(self._device)
                with torch.no_grad():
                    out = net(x).detach().float().cpu().reshape(len(chunk), -1)[:, 0].tolist()
                for i, v in zip(chunk, out, strict=True):
                    values[i] = float(v)
        return [{key: Score.ok(v, pyiqa=self.pyiqa_name, size=list(images[i].size))} for i, v in enumerate(values)]

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["pyiqa_metric"] = self.pyiqa_name
        ident["pyiqa_weights"] = [Path(p).name for p in weight_files(self.name, Path("."))]
        return ident

    def run_info(self) -> dict[str, Any]:
        from importlib import metadata

        try:
            version = metadata.version("pyiqa")
        except metadata.PackageNotFoundError:
            version = None
        return {"pyiqa": version, "device": self._device, "torch_home": os.environ.get("TORCH_HOME")}

    def close(self) -> None:
        self._net = None


def _register(name: str, pyiqa_name: str, description: str, column: Column) -> None:
    cls = type(
        f"IQA_{name.replace('-', '_')}",
        (IQAMetric,),
        {"__doc__": description, "version": "1", "pyiqa_name": pyiqa_name, "columns": (column,)},
    )
    metrics.register(name, description=description, needs=IQA)(cls)


for _name, _file in ARNIQA_REGRESSORS.items():
    _ds = _name.partition("-")[2] or "koniq"
    _register(
        _name,
        _name,
        f"ARNIQA no-reference IQA of the final image (pyiqa, {_ds} regressor)",
        Column(_name, 0, 1, True, f"ARNIQA ({_ds}) of the final image, 0-1"),
    )
for _name, (_pyiqa, _file) in TOPIQ.items():
    _register(
        _name,
        _pyiqa,
        f"TOPIQ no-reference IQA of the final image (pyiqa {_pyiqa})",
        Column(_name, 0, 1, True, f"TOPIQ ({_pyiqa}) of the final image, ~0-1"),
    )
