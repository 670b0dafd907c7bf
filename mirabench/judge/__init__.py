"""One client for every API-backed judge, planner and editor: async, adaptive, cached, budgeted, accounted.

Public API (stable; issue #5's API agents/editors build on it):

    from mirabench.judge import ChatRequest, ImageEditRequest, ImageEncoding, JudgeClient, JudgeConfig

    client = JudgeClient(JudgeConfig(provider="openai", model="gpt-4o-2024-08-06", max_concurrency=32))
    req = ChatRequest.build(
        ["Rate this edit.", source_image, edited_image],   # text and PIL images, in message order
        system="optional system text",
        temperature=None,                                   # None = provider default (sent as absent)
        max_tokens=1400,
        json_mode=False,
        seed=None,
        encoding=ImageEncoding(format="jpeg", quality=75, max_side=None),
    )
    results = client.chat_many([req, ...])      # sync, from any thread; order kept, never raises per call
    future = client.submit(req)                 # concurrent.futures.Future[ChatResult]: send while building more
    result = await client.achat(req)            # async, inside the client's loop or any loop
    result.status      # "ok" | "api_error" | "refused" | "budget"
    result.text, result.model (snapshot the API reported), result.usage, result.attempts, result.cached
    client.ledger.snapshot()   # calls, retries, 429s, tokens, estimated cost, cache hits, models seen
    client.usage()             # the same, plus the run's totals over every process when a journal is active

    # OpenAI image edits (`images.edit`, provider "openai", e.g. model="gpt-image-1"): one PNG + prompt, n=1
    edit = ImageEditRequest.build(image, "make the sky red", max_side=1536, size="auto", quality="high")
    results = client.edit_many([edit, ...])     # ChatResults; result.images[0] = the answer's decoded b64_json
    client.close()

- `provider`: "openai" (official `openai` client; any OpenAI-compatible server via `base_url`, e.g. vLLM/SGLang),
  "gemini" (official `google-genai` client), or "local" (an in-process callable, e.g. a transformers VLM; see
  `mirabench.backends.local_judge`). Credentials come only from the environment (`OPENAI_API_KEY`,
  `GEMINI_API_KEY`/`GOOGLE_API_KEY`); base URLs from `OPENAI_BASE_URL` / `GOOGLE_GEMINI_BASE_URL` or `base_url`.
- Concurrency adapts: it shrinks when 429s are a sustained share of recent calls (not on a single blip) and grows
  back on success. A 429's Retry-After (or Gemini's RetryInfo) delays that request's retry only; the whole key
  pauses when the provider says it is exhausted (x-ratelimit-remaining-*: 0, Gemini's QuotaFailure) or the 429s
  are sustained. x-ratelimit-* headers on answers pace calls to the announced allowance; `rpm` / `tpm` cap a run
  to a known tier. Retries (jittered exponential) only on retryable errors:
  429, 408, 409, 5xx, timeouts, connection errors and unreadable response bodies. 400/401/403/404 fail at once.
- Budget: `max_calls` / `max_cost_usd` stop cleanly: calls past the cap return status "budget" and are not sent.
- Journal: inside `run` / `score` every attempt and every paid answer is written to the run store as it
  happens (`mirabench.judge.journal`): caps continue across kill -9 and resume, and a resume never pays twice
  for an answer. A global cache that cannot be written is a warning; a run store that cannot is the end.
- Cache: successful answers are stored in the global content-addressed `mirabench.cache.Cache`, keyed by provider,
  model, the whole request (image bytes by hash), decoding parameters and `cache_salt`; a repeat is not sent.
- Image edits go through the same retries, limiter, timeout, budget and ledger (image tokens priced by `prices`),
  but are NEVER cached: the edits API takes no seed, so each call is a new sample. A moderation block (HTTP 400
  `moderation_blocked`) ends as status "refused". Gemini image editing is a chat call (image output): `chat_many`.
- Requests are provider-neutral; `messages.openai_payload` / `messages.gemini_contents` render them (golden tests).
"""

from __future__ import annotations

from mirabench.judge.accounting import Ledger, Usage
from mirabench.judge.client import ChatResult, JudgeClient, JudgeConfig
from mirabench.judge.edits import ImageEditRequest
from mirabench.judge.messages import ChatRequest, ImageEncoding, ImagePart

__all__ = [
    "ChatRequest",
    "ChatResult",
    "ImageEditRequest",
    "ImageEncoding",
    "ImagePart",
    "JudgeClient",
    "JudgeConfig",
    "Ledger",
    "Usage",
]
