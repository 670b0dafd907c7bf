"""`editscore`: the EditScore reward model (VectorSpaceLab, package `editscore` 0.2) as a metric.

EditScore is a LoRA adapter on a Qwen2.5-VL / Qwen3-VL instruct base that answers VIEScore-style prompts with
EditScore's own reasoning-first wording (loaded from the installed `editscore` package) on a 0-25 scale.
Protocol as upstream `evaluate()`: SC call with (source, edited, prompt), PQ call with (edited, prompt) — images
before the text; sampling T 0.7, top_p 0.9, top_k 20, 512 new tokens, pass i seeded with seed + i (seed 42);
every raw score divided by 2.5. Columns: EditScore-SC = min of the two SC scores, EditScore-PQ = min PQ,
EditScore-OA = per-sample sqrt(SC x PQ); with `num_pass` N each is the mean over N passes (OA: mean of per-pass
OA, upstream's `average_last`).
Backends: `transformers` (default; `path` = base model, `lora_path` = adapter, merged in memory; `layout`
vision-ids for Qwen2.5-VL bases as upstream, processor for Qwen3-VL bases) or `openai` (an OpenAI-compatible
server such as vLLM serving the merged model at `base_url`).
`policy=faithful` is upstream `evaluate()`'s loop (`mirabench.judge.faithful`): curly quotes normalised and
`json_repair` on invalid JSON; up to 3 asks, the 3rd (or one where either answer is the refusal sentence)
guessing BOTH SC and PQ as [g, g], g in 0..25 (seeded per sample and ask, recorded as `guessed`); a bare integer
counts only in 0..10 (so `18` is re-asked on the 25 scale); items upstream would crash on are dropped.
`backend=openai` cannot reproduce upstream's request layout: upstream builds its own chat template (a fixed
system sentence, `<imgN>:` tags, vision tokens) while an OpenAI-compatible server applies the served model's
template; `mirabench list` and the run's provenance (`layout`) say so.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mirabench.backends.vie_judge import LocalJudgeOptions, VieJudgeMetric
from mirabench.plugins import Column
from mirabench.registry import Needs, metrics


class EditScoreOptions(LocalJudgeOptions):
    backend: Literal["openai", "transformers"] = "transformers"
    model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    path: str | None = Field(None, description="base model dir or hub id (default: model)")
    lora_path: str | None = "EditScore/EditScore-7B"
    layout: Literal["processor", "vision-ids"] = "vision-ids"
    prompts: Literal["viescore", "editscore", "stand-in"] = "editscore"
    temperature: float | None = 0.7
    max_tokens: int = 512
    image_format: Literal["jpeg", "png", "webp"] = "png"
    seed: int = 42


OPENAI_LAYOUT_NOTE = (
    "backend=openai: the OpenAI-compatible server applies the served model's chat template; upstream EditScore "
    "builds its own (fixed system sentence, <imgN>: tags, vision tokens), so requests are not upstream's layout"
)


@metrics.register(
    "editscore",
    description=(
        "EditScore reward model (Qwen-VL + LoRA): EditScore-SC, -PQ, -OA; backend=openai cannot reproduce "
        "upstream's request layout (the server applies its own chat template)"
    ),
    needs=Needs(modules=("torch", "transformers", "peft"), extra="local"),
)
class EditScoreMetric(VieJudgeMetric):
    """EditScore-SC / -PQ / -OA of the MIRA paper (EditScore `evaluate()` protocol, 0-25 rescaled to 0-10)."""

    version = "1"
    provider = "openai"
    default_model = "Qwen/Qwen2.5-VL-7B-Instruct"
    score_range = 25
    images_first = True
    faithful_parser = "editscore"
    default_item_retries = 0  # upstream evaluate() raises to its caller; nothing retries it
    send_seed = True
    extra_body = {"top_p": 0.9, "top_k": 20}
    Options = EditScoreOptions
    columns = (
        Column("editscore-sc", 0, 10, True, "EditScore-SC: min(prompt following, consistency) / 2.5"),
        Column("editscore-pq", 0, 10, True, "EditScore-PQ: min(perceptual quality scores) / 2.5"),
        Column("editscore-oa", 0, 10, True, "EditScore-OA: per-sample sqrt(SC x PQ)"),
    )

    def layout(self) -> dict[str, Any]:
        out = super().layout()
        if self.opts.backend == "openai":  # type: ignore[attr-defined]
            out["reproduces_upstream"] = False
            out["note"] = OPENAI_LAYOUT_NOTE
        return out
