"""Shared body of the VIEScore-style judges (gpt-sc, gemini-sc, qwen3vl-sc, editscore).

Per item: an SC call (prompt text, source image, edited image) and a PQ call (prompt text, edited image), both
through one JudgeClient; then SC, PQ and O = sqrt(SC * PQ) columns. When the sample's suite protocol asks for it
(GEdit-Bench: `test_gedit_score.py` converts the edit to RGB and resizes it to the source's size with Pillow's
default filter) the edited image is resized before encoding (`resize_to_source`, default: as the suite says).
Failure policy:
- `strict` (default): an unparsable or out-of-range answer is a `parse_error` Score, an API failure `api_error`,
  a refusal `refused`, a call stopped by the run budget `skipped`; O fails when SC or PQ does. Nothing is guessed
  and no value outside the column's range is ever stored.
- `faithful`: the upstream loop and parser (`mirabench.judge.faithful`): VIEScore's for the API judges,
  EditScore's for `editscore`. Guesses are seeded per sample and ask and recorded (`guessed`); an item upstream
  would crash on, or ask about forever, is dropped (a `parse_error` Score with `dropped`, never in a mean), as
  GEdit's runner drops items whose judging still raises after its retries. A failed API call counts as an empty
  answer, as VIEScore's GPT wrapper returns "" on errors.
"""

from __future__ import annotations

import os
import random
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from pydantic import Field

from mirabench.judge import ChatRequest, ChatResult, ImageEncoding, JudgeClient, JudgeConfig
from mirabench.judge.client import LazyClient
from mirabench.judge.faithful import (
    REFUSAL,
    Answer,
    Outcome,
    evaluate_upstream,
    parse_editscore,
    parse_viescore,
)
from mirabench.judge.messages import encode_image
from mirabench.judge.options import ClientOptions
from mirabench.judge.upstream import UpstreamMissing
from mirabench.judge.viescore import Parsed, PromptSet, combine, load_prompts, parse_scores
from mirabench.plugins import Column, Metric, ScoreItem
from mirabench.registry import PluginUnavailable
from mirabench.types import Score, ScoreStatus

__all__ = ["LocalJudgeOptions", "VieJudgeMetric", "VieJudgeOptions"]

_STATUS = {"api_error": ScoreStatus.API_ERROR, "refused": ScoreStatus.REFUSED, "budget": ScoreStatus.SKIPPED}


class VieJudgeOptions(ClientOptions):
    """Options every VIEScore-style judge shares (the client's from `ClientOptions`); all recorded in run.json."""

    prompts: Literal["viescore", "editscore", "stand-in"] = "viescore"
    prompts_file: str | None = Field(
        None, description="VIEScore's vie_prompts.py (default: the one `mirabench data get-prompts` fetched)"
    )
    policy: Literal["strict", "faithful"] = "strict"
    temperature: float | None = None
    max_tokens: int = 1400
    image_format: Literal["jpeg", "png", "webp"] = "jpeg"
    image_quality: int = Field(75, ge=1, le=100)
    image_max_side: int | None = Field(None, ge=16)
    seed: int = Field(0, description="faithful-mode guesses; plus the request seed of pass i (seed + i) if sent")
    num_pass: int = Field(1, ge=1, description="Avg@N: mean of N independently sampled judgements")
    max_asks: int = Field(3, ge=1, description="faithful: asks of SC+PQ before an item that never parses is dropped")
    resize_to_source: bool | None = Field(None, description="resize the edit to the source size (None: as the suite)")
    item_retries: int | None = Field(
        None, ge=0, description="faithful: fresh judgements of an item upstream would crash on (None: the judge's)"
    )


class LocalJudgeOptions(VieJudgeOptions):
    """Judges that also run in-process: `backend=transformers` loads `path` (and a LoRA adapter) locally."""

    backend: Literal["openai", "transformers"] = "openai"
    path: str | None = Field(None, description="local checkpoint dir or hub id for backend=transformers")
    lora_path: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    layout: Literal["processor", "vision-ids"] = "processor"
    batch_size: int = Field(1, ge=1, description="backend=transformers: greedy judgements per generate() call")


class VieJudgeMetric(LazyClient, Metric):
    """Subclasses set `provider`, `prefix`, the default model, and may override `make_client`."""

    provider: ClassVar[Literal["openai", "gemini", "local"]] = "openai"
    prefix: ClassVar[str] = ""
    paper_name: ClassVar[str] = ""
    default_model: ClassVar[str] = ""
    score_range: ClassVar[int] = 10
    images_first: ClassVar[bool] = False  # VIEScore API judges: text first; EditScore/Qwen local: images first
    faithful_parser: ClassVar[Literal["viescore", "editscore"]] = "viescore"
    default_item_retries: ClassVar[int] = 3  # GEdit's runner: 10000 with linear back-off; EditScore's evaluate: 0
    send_seed: ClassVar[bool] = False
    extra_body: ClassVar[dict[str, Any]] = {}
    Options = VieJudgeOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.opts: VieJudgeOptions = self.options
        try:
            self.prompts: PromptSet = load_prompts(self.opts.prompts, self.score_range, file=self.opts.prompts_file)
        except UpstreamMissing as exc:
            raise PluginUnavailable(f"metric {self.name!r}: {exc}") from None

    @classmethod
    def make_columns(cls, prefix: str, paper: str) -> tuple[Column, ...]:
        return (
            Column(f"{prefix}-sc", 0, 10, True, f"{paper}-SC: VIEScore semantic consistency, min(success, over-edit)"),
            Column(f"{prefix}-pq", 0, 10, True, f"{paper}-PQ: perceptual quality, min(naturalness, artifacts)"),
            Column(f"{prefix}-o", 0, 10, True, f"{paper}-O: sqrt(SC x PQ) per sample"),
        )

    # -- judge plumbing ---------------------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.opts.model or self.default_model

    def judge_config(self) -> JudgeConfig:
        return self.opts.judge_config(self.provider, self.model, label=self.name)

    def make_client(self) -> JudgeClient:
        o = self.opts
        if isinstance(o, LocalJudgeOptions) and o.backend == "transformers":
            from mirabench.backends.local_judge import TransformersVLM

            vlm = TransformersVLM(
                o.path or self.model,
                lora_path=o.lora_path,
                layout=o.layout,
                images_first=self.images_first,
                dtype=o.dtype,
                device=o.device,
                batch_size=o.batch_size,
            )
            return JudgeClient(replace(self.judge_config(), provider="local"), local=vlm)
        return JudgeClient(self.judge_config())

    def encoding(self) -> ImageEncoding:
        o = self.opts
        return ImageEncoding(o.image_format, o.image_quality, o.image_max_side)

    def requests(self, item: ScoreItem, salt: str = "", seed: int | None = None) -> tuple[ChatRequest, ChatRequest]:
        """SC: prompt, source, edited. PQ: prompt, edited (images before the text when `images_first`).

        Each image is encoded once and shared by both calls.
        """
        o, enc = self.opts, self.encoding()
        resize = o.resize_to_source
        if resize is None:
            resize = bool(item.sample.extra.get("judge_resize_to_source"))
        image = item.edited.convert("RGB").resize(item.source.size) if resize else item.edited
        source, edited = encode_image(item.source, enc), encode_image(image, enc)
        common: dict[str, Any] = {
            "temperature": o.temperature,
            "max_tokens": o.max_tokens,
            "cache_salt": salt,
            "seed": seed,
            "extra": dict(self.extra_body),
        }
        sc_text = self.prompts.sc_text(item.sample.instruction)
        sc_parts: list[Any] = [source, edited, sc_text] if self.images_first else [sc_text, source, edited]
        pq_parts: list[Any] = [edited, self.prompts.pq] if self.images_first else [self.prompts.pq, edited]
        return ChatRequest.build(sc_parts, tag="sc", **common), ChatRequest.build(pq_parts, tag="pq", **common)

    def ask(
        self, items: Sequence[ScoreItem], salt: str = "", seed: int | None = None
    ) -> list[tuple[ChatResult, ChatResult]]:
        """Encode on a small thread pool and send each pair as soon as it is built (encoding overlaps the wait).

        At most 2 x max_concurrency pairs are built or in flight: encoding keeps pace with the calls instead of
        taking every core in a burst at the start (which starves the client's event loop and cost ~10% of
        throughput at concurrency 32), and memory holds a window of encoded images, not the whole batch.
        """
        client = self.client
        if client.config.provider == "local":  # an in-process model: hand it every request, so it can batch
            flat = [r for item in items for r in self.requests(item, salt, seed)]
            results = client.chat_many(flat)
            return list(zip(results[0::2], results[1::2], strict=True))
        slots = threading.Semaphore(2 * self.opts.max_concurrency)
        built: deque[Future[tuple[ChatRequest, ChatRequest]]] = deque()
        sent: list[tuple[Future[ChatResult], Future[ChatResult]]] = []

        def send_oldest() -> None:  # in item order, so a budget cap stops at a clean prefix of the items
            sc, pq = built.popleft().result()
            pair = (client.submit(sc), client.submit(pq))
            left, lock = [2], threading.Lock()

            def finished(_: Future[ChatResult]) -> None:
                with lock:
                    left[0] -= 1
                    if left[0] == 0:
                        slots.release()

            for call in pair:
                call.add_done_callback(finished)
            sent.append(pair)

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="encode") as pool:
            for item in items:
                while not slots.acquire(blocking=False):
                    if not built:
                        slots.acquire()  # every slot belongs to calls in flight: one pair will finish
                        break
                    send_oldest()  # a slot held by a built pair is freed only once it is sent
                built.append(pool.submit(self.requests, item, salt, seed))
                while built and built[0].done():
                    send_oldest()
            while built:
                send_oldest()
        return [(a.result(), b.result()) for a, b in sent]

    # -- scoring ----------------------------------------------------------------------------------------------

    def score_batch(self, items: Sequence[ScoreItem]) -> list[dict[str, Score]]:
        passes = [self._score_pass(items, i) for i in range(self.opts.num_pass)]
        if len(passes) == 1:
            return passes[0]
        return [_average([p[k] for p in passes]) for k in range(len(items))]

    def _pass(self, index: int) -> tuple[str, int | None]:
        """Pass i's cache salt and request seed (Avg@N passes are separate samples, not cache hits)."""
        return (f"pass-{index}" if index else ""), (self.opts.seed + index if self.send_seed else None)

    def planned_requests(self, item: ScoreItem) -> list[ChatRequest]:
        """The requests an item costs (SC and PQ of every pass), for estimates; a faithful re-ask is not planned."""
        return [r for i in range(self.opts.num_pass) for r in self.requests(item, *self._pass(i))]

    def _score_pass(self, items: Sequence[ScoreItem], index: int) -> list[dict[str, Score]]:
        salt, seed = self._pass(index)
        if self.opts.policy == "faithful":
            return self._faithful_pass(items, salt, seed)
        pairs = self.ask(items, salt, seed)
        parsed = [(self._parse(sc), self._parse(pq)) for sc, pq in pairs]
        return [self._columns(item, res, p) for item, res, p in zip(items, pairs, parsed, strict=True)]

    def _faithful_pass(self, items: Sequence[ScoreItem], salt: str, seed: int | None) -> list[dict[str, Score]]:
        """Upstream's loop per item; an item upstream would crash on is judged afresh up to `item_retries` more
        times (GEdit's runner retries a raising item, up to 10000 times), then dropped."""
        judged: dict[int, _Judged] = {}
        todo = list(range(len(items)))
        retries = self.opts.item_retries if self.opts.item_retries is not None else self.default_item_retries
        for attempt in range(1 + retries):
            if not todo:
                break
            tag = salt + (f"item-{attempt}" if attempt else "")
            for i, got in zip(todo, self._upstream_evaluate([items[i] for i in todo], tag, seed, attempt), strict=True):
                judged[i] = got
            todo = [i for i in todo if isinstance(judged[i].outcome, str)]
        return [self._faithful_scores(judged[i]) for i in range(len(items))]

    def _upstream_evaluate(
        self, items: Sequence[ScoreItem], salt: str, seed: int | None, attempt: int
    ) -> list[_Judged]:
        """Ask SC and PQ again until both parse (guessing from the ask its scorer says), then upstream's arithmetic."""
        found: dict[int, tuple[Answer, Answer]] = {}
        last: dict[int, tuple[ChatResult, ChatResult]] = {}
        crashed: dict[int, str] = {}
        todo = list(range(len(items)))
        for ask in range(self.opts.max_asks):
            if not todo:
                break
            pairs = self.ask([items[i] for i in todo], salt + (f"ask-{ask}" if ask else ""), seed)
            left = []
            for i, pair in zip(todo, pairs, strict=True):
                last[i] = pair
                texts = [_answer_text(r) for r in pair]
                try:
                    sc = self._upstream_parse(items[i], "sc", texts[0], ask, texts, attempt)
                    pq = self._upstream_parse(items[i], "pq", texts[1], ask, texts, attempt)
                except ValueError as exc:  # a bare pair of non-ASCII digits: upstream's json.loads raises
                    crashed[i] = f"upstream raises {type(exc).__name__}: {exc}"
                    continue
                if sc is None or pq is None:
                    left.append(i)
                else:
                    found[i] = (sc, pq)
            todo = left
        out = []
        for i in range(len(items)):
            why = crashed.get(i) or (
                f"no parsable answer after {self.opts.max_asks} asks (upstream asks forever)" if i not in found else ""
            )
            outcome = why or evaluate_upstream(*found[i], self.faithful_parser, self.score_range)
            out.append(_Judged(last[i], found.get(i), outcome, attempt + 1))
        return out

    def _faithful_scores(self, judged: _Judged) -> dict[str, Score]:
        sc_res, pq_res = judged.results
        common: dict[str, Any] = {
            "judge": sc_res.model or pq_res.model or self.model,
            "prompt_source": self.prompts.source,
            "prompt_text": self.prompts.label,
            "prompt_sha256": self.prompts.sha256,
            "policy": "faithful",
            "item_attempts": judged.attempts,
        }
        keys = [c.key for c in self.columns]
        if isinstance(judged.outcome, str) or judged.answers is None:
            why = judged.outcome if isinstance(judged.outcome, str) else "no answer"
            dropped = Score.failed(ScoreStatus.PARSE_ERROR, sc_res.text, error=why, dropped=True, **common)
            return {k: dropped for k in keys}
        sc, pq = judged.answers
        guessed = [w for w, a in (("sc", sc), ("pq", pq)) if a.guessed]
        if guessed:
            common["guessed"] = guessed
        s, q, o = judged.outcome
        return {
            keys[0]: Score.ok(s, sc_res.text, sub=_plain(sc.obj), **common),
            keys[1]: Score.ok(q, pq_res.text, sub=_plain(pq.obj), **common),
            keys[2]: Score.ok(o, "", **common),
        }

    def _upstream_parse(
        self, item: ScoreItem, which: str, text: str, ask: int, texts: list[str], attempt: int = 0
    ) -> Answer | None:
        key = f"{self.opts.seed}/{item.sample.id}/{which}" + (f"/item-{attempt}" if attempt else "")
        rng = random.Random(f"{key}/{ask}")
        if self.faithful_parser == "viescore":
            return parse_viescore(text, give_up=ask >= 1, rng=rng)  # VIEScore: max_tries = 1
        give_up = ask >= 2 or REFUSAL in texts  # EditScore: max_tries = 2; a refusal gives both up at once
        return parse_editscore(text, give_up, rng, self.score_range)

    def _parse(self, result: ChatResult) -> Parsed:
        if not result.ok:
            return Parsed(None, error=result.error or result.status)
        return parse_scores(result.text, n=2, low=0, high=self.score_range, validate=True)

    def _one(
        self, item: ScoreItem, which: str, result: ChatResult, parsed: Parsed
    ) -> tuple[Score | None, list[float] | None]:
        """A failed Score (strict) or the sub-scores to combine (with a guess in faithful mode)."""
        detail: dict[str, Any] = {"call": which, "judge": result.model or self.model, "attempts": result.attempts}
        if parsed.scores is not None:
            return None, parsed.scores
        if not result.ok:
            status = _STATUS.get(result.status, ScoreStatus.API_ERROR)
            return Score.failed(status, result.error or result.text, **detail), None
        status = ScoreStatus.REFUSED if parsed.refused else ScoreStatus.PARSE_ERROR
        return Score.failed(status, result.text, error=parsed.error, **detail), None

    def _columns(
        self, item: ScoreItem, results: tuple[ChatResult, ChatResult], parsed: tuple[Parsed, Parsed]
    ) -> dict[str, Score]:
        keys = [c.key for c in self.columns]
        sc_fail, sc = self._one(item, "sc", results[0], parsed[0])
        pq_fail, pq = self._one(item, "pq", results[1], parsed[1])
        common: dict[str, Any] = {
            "judge": results[0].model or results[1].model or self.model,
            "prompt_source": self.prompts.source,
            "prompt_text": self.prompts.label,
            "prompt_sha256": self.prompts.sha256,
        }
        out: dict[str, Score] = {}
        if sc is not None and pq is not None:
            s, q, o = combine(sc, pq, self.score_range)
            out[keys[0]] = Score.ok(
                s, results[0].text, sub=sc, reasoning=parsed[0].reasoning, served=results[0].served, **common
            )
            out[keys[1]] = Score.ok(
                q, results[1].text, sub=pq, reasoning=parsed[1].reasoning, served=results[1].served, **common
            )
            out[keys[2]] = Score.ok(o, "", served=results[0].served or results[1].served, **common)
            return out
        if sc is not None:
            out[keys[0]] = Score.ok(
                combine(sc, sc, self.score_range)[0], results[0].text, sub=sc, served=results[0].served, **common
            )
        else:
            assert sc_fail is not None
            out[keys[0]] = sc_fail
        if pq is not None:
            out[keys[1]] = Score.ok(
                combine(pq, pq, self.score_range)[0], results[1].text, sub=pq, served=results[1].served, **common
            )
        else:
            assert pq_fail is not None
            out[keys[1]] = pq_fail
        first = sc_fail or pq_fail
        assert first is not None
        out[keys[2]] = Score.failed(first.status, f"O needs SC and PQ; {first.detail.get('call')} failed")
        return out

    # -- manifest ---------------------------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["judge_model"] = self.model
        ident["provider"] = self.provider
        ident["prompts"] = self.prompts.identity()
        return ident

    def layout(self) -> dict[str, Any]:
        """How requests are laid out, for the run's provenance (subclasses add what upstream does differently)."""
        o = self.opts
        return {
            "images_first": self.images_first,
            "image_format": o.image_format,
            "temperature": o.temperature,
            "max_tokens": o.max_tokens,
            "policy": o.policy,
        }

    def run_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "prompts": self.prompts.identity(),
            "judge_requested": self.model,
            "layout": self.layout(),
        }
        return {**info, **self.client_info()}


@dataclass(frozen=True)
class _Judged:
    """One item's faithful judgement: the last SC/PQ results, the parsed answers, and (SC, PQ, O) or the crash."""

    results: tuple[ChatResult, ChatResult]
    answers: tuple[Answer, Answer] | None
    outcome: Outcome
    attempts: int


def _answer_text(result: ChatResult) -> str:
    """What upstream's parser would see: the text; a refusal's own sentence; "" for a failed call (VIEScore's
    GPT wrapper returns "" on errors)."""
    if result.ok:
        return result.text
    return (result.error or "") if result.status == "refused" else ""


def _plain(obj: Any) -> Any:
    """The parsed `score` field as stored in a Score's detail (JSON-safe)."""
    return obj.get("score") if isinstance(obj, dict) else obj


def _average(per_pass: list[dict[str, Score]]) -> dict[str, Score]:
    """Avg@N: each column's mean over passes (O: mean of per-pass O, EditScore's `average_last`).

    Strict about failures: a column fails (with its first failed pass's status) unless every pass succeeded.
    """
    out: dict[str, Score] = {}
    for key in per_pass[0]:
        scores = [p[key] for p in per_pass]
        failed = next((s for s in scores if s.value is None), None)
        if failed is not None:
            out[key] = failed
            continue
        values = [float(s.value) for s in scores if s.value is not None]
        out[key] = Score.ok(sum(values) / len(values), scores[0].raw, **{**scores[0].detail, "passes": values})
    return out
