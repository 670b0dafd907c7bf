"""`qwen3vl-sc`: VIEScore `tie` SC / PQ / O judged by Qwen3-VL, served or in-process.

- `backend=openai` (default): any OpenAI-compatible server (vLLM, SGLang) at `base_url`, which must be given:
  `OPENAI_BASE_URL` is never used (it usually points at the GPT endpoint); `model` is the served model name. No key
  is needed for a local server.
- `backend=transformers`: loads `path` (default: `model`, a hub id or a local directory) with transformers and
  judges in-process with the checkpoint's own chat template; greedy unless a temperature is set.
Same prompts, parsing and columns as gpt-sc (VIEScore prompts from the `editscore` package), but images before
the text in both backends, as GEdit-Bench's open Qwen-VL judge sends them; images as PNG (lossless). Decoding
as that judge (`qwen25vl_eval.py`): greedy (temperature 0) with 512 new tokens by default.
"""

from __future__ import annotations

from typing import Any, Literal

from mirabench.backends.vie_judge import LocalJudgeOptions, VieJudgeMetric
from mirabench.registry import Needs, PluginUnavailable, metrics


class Qwen3VLSCOptions(LocalJudgeOptions):
    model: str = "Qwen/Qwen3-VL-8B-Instruct"
    image_format: Literal["jpeg", "png", "webp"] = "png"  # lossless: the served/local model sees the pixels
    temperature: float | None = 0.0  # GEdit-Bench's Qwen judge decodes greedily ...
    max_tokens: int = 512  # ... with 512 new tokens


@metrics.register(
    "qwen3vl-sc",
    description="VIEScore-style SC/PQ/O judged by Qwen3-VL (OpenAI-compatible server or transformers)",
    needs=Needs(modules=("openai",), extra="api"),
)
class Qwen3VLSC(VieJudgeMetric):
    """Qwen3VL-SC of the MIRA paper: VIEScore SC (and PQ, O) with a Qwen3-VL judge."""

    version = "1"
    provider = "openai"
    default_model = "Qwen/Qwen3-VL-8B-Instruct"
    images_first = True
    Options = Qwen3VLSCOptions
    columns = VieJudgeMetric.make_columns("qwen3vl", "Qwen3VL")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o: Any = self.options
        if o.backend == "openai" and not o.base_url:
            raise PluginUnavailable(
                "metric 'qwen3vl-sc' with backend=openai needs the URL of an OpenAI-compatible server serving "
                "Qwen3-VL: --set metrics.qwen3vl-sc.base_url=http://HOST:PORT/v1 (OPENAI_BASE_URL is not used: it "
                "names the GPT endpoint), or --set metrics.qwen3vl-sc.backend=transformers to run it in-process."
            )
