"""`gpt-sc`: VIEScore `tie` SC / PQ / O judged by a GPT model through the official `openai` client.

Defaults follow VIEScore's GPT backbone (JPEG q75 images, 1400 max tokens, no temperature sent) with a pinned
dated snapshot; the snapshot the API reports is recorded per Score and in run.json.
"""

from __future__ import annotations

from mirabench.backends.vie_judge import VieJudgeMetric
from mirabench.judge.backends import OPENAI_API
from mirabench.registry import metrics


@metrics.register(
    "gpt-sc",
    description="VIEScore-style SC/PQ/O judged by GPT (openai client)",
    needs=OPENAI_API,
)
class GptSC(VieJudgeMetric):
    """GPT-SC of the MIRA paper: VIEScore SC (and PQ, O) with a GPT judge."""

    version = "1"
    provider = "openai"
    default_model = "gpt-4.1-2025-04-14"
    columns = VieJudgeMetric.make_columns("gpt", "GPT")
