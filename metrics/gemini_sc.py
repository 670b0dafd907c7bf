"""`gemini-sc`: VIEScore `tie` SC / PQ / O judged by Gemini through the official `google-genai` client.

Same prompts, images and parsing as gpt-sc; the reported `modelVersion` is recorded per Score and in run.json.
The key is read from GEMINI_API_KEY or GOOGLE_API_KEY, as the google-genai client does (checked before any work).
"""

from __future__ import annotations

from mirabench.backends.vie_judge import VieJudgeMetric
from mirabench.judge.backends import GEMINI_API
from mirabench.registry import metrics


@metrics.register(
    "gemini-sc",
    description="VIEScore-style SC/PQ/O judged by Gemini (google-genai client)",
    needs=GEMINI_API,
)
class GeminiSC(VieJudgeMetric):
    """Gemini-SC of the MIRA paper: VIEScore SC (and PQ, O) with a Gemini judge."""

    version = "1"
    provider = "gemini"
    default_model = "gemini-2.5-flash"
    columns = VieJudgeMetric.make_columns("gemini", "Gemini")
