"""`mirabench estimate`: what a run will cost before it starts: calls, tokens and dollars per role, and time.

Counted per sample, by the rules the run itself follows:
- a sample finished in the run dir costs nothing; one partly done continues from its last committed step;
- the agent is asked once per step until it stops or `max_steps` edits are made, so agent and editor calls are
  at most `max_steps` each (upper bounds, marked `<=`), unless the agent knows its edits in advance
  (`planned_edits`, e.g. `direct`): then the counts are exact, and an edit the global cache holds is free;
- each API judge asks its own requests (`planned_requests`) once per image to judge; a judgement the run dir
  holds, or an answer the run store or the judge cache holds, costs nothing. An image not made yet is judged
  with the source image standing in for its size.
Tokens: images by the provider's image-token rules, text by an estimate (mirabench.judge.tokens); prices from the
dated table (mirabench.judge.prices) or the plugin's own price options. Time: the mean per-call time of the
steps already in the run dir (agent, editor), when there are any.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from mirabench.cache import Cache, cache_key
from mirabench.images import ImageDir, ImageLoadError, image_hash, source_image
from mirabench.judge.client import JudgeClient
from mirabench.judge.messages import ChatRequest
from mirabench.judge.options import ClientOptions
from mirabench.judge.prices import price_of
from mirabench.judge.tokens import image_tokens, request_tokens
from mirabench.plugins import Plugin, ScoreItem
from mirabench.registry import agents, editors, metrics, suites
from mirabench.run.editing import edit_key
from mirabench.run.loop import step_seed
from mirabench.run.runner import load_samples, resolve
from mirabench.rundir.store import RETRYABLE, open_readonly
from mirabench.spec import RunSpec
from mirabench.types import EditRequest, Sample

__all__ = ["Line", "Planned", "estimate", "estimate_plan"]

AGENT_TEXT_TOKENS = 800  # a planner prompt's text (template, instruction, history): an estimate
EDIT_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "auto": 4160}  # gpt-image-1 at 1024x1024
GEMINI_IMAGE_OUTPUT = 1290  # tokens of one generated image (Gemini image models)


@dataclass
class Line:
    """One role of the plan: calls, whether the count is exact, tokens, dollars and time."""

    role: str
    plugin: str
    calls: int = 0
    exact: bool = True
    api: bool = False
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float | None = None
    seconds: float | None = None

    def add_tokens(self, tokens: tuple[int, int], price: tuple[float, float] | None) -> None:
        self.tokens_in += tokens[0]
        self.tokens_out += tokens[1]
        if price is not None:
            self.usd = (self.usd or 0.0) + (tokens[0] * price[0] + tokens[1] * price[1]) / 1e6


@dataclass
class _Done:
    """What the run dir already holds."""

    status: dict[str, str] = field(default_factory=dict)
    source: dict[str, str | None] = field(default_factory=dict)
    edits: dict[str, list[str | None]] = field(default_factory=dict)
    scored: set[tuple[str, str, str]] = field(default_factory=set)  # (sample, image, column)
    answers: set[str] = field(default_factory=set)
    agent_ms: list[float] = field(default_factory=list)
    editor_ms: list[float] = field(default_factory=list)


def _read_run_dir(out: Path | None, configs: dict[str, str], retry_failed: bool) -> _Done:
    """The store's samples, steps, answers, and the judgements a run or score would keep: not those of a metric
    whose identity changed since (they are made again), nor, with `retry_failed`, those that ended in an error."""
    done = _Done()
    db_path = out / "store.sqlite" if out is not None else None
    if db_path is None or not db_path.exists():
        return done
    db = _open_store(db_path)
    try:
        for sid, status, source in db.execute("SELECT id, status, source_image FROM samples"):
            done.status[sid], done.source[sid] = status, source
        for sid, kind, image, agent_ms, editor_ms in db.execute(
            "SELECT sample_id, kind, image, agent_ms, editor_ms FROM steps ORDER BY sample_id, t"
        ):
            if kind == "edit":
                done.edits.setdefault(sid, []).append(image)
                if editor_ms:
                    done.editor_ms.append(editor_ms)
            if agent_ms:
                done.agent_ms.append(agent_ms)
        stored = dict(db.execute("SELECT metric, config FROM metric_configs").fetchall())
        changed = {m for m, c in configs.items() if m in stored and stored[m] != c}
        retry = {s.value for s in RETRYABLE} if retry_failed else set()
        rows = db.execute("SELECT sample_id, image, metric, col, status FROM scores")
        done.scored = {(s, i, c) for s, i, m, c, status in rows if m not in changed and status not in retry}
        try:
            done.answers = {k for (k,) in db.execute("SELECT key FROM answers")}
        except sqlite3.OperationalError:  # a store from before the call journal
            pass
    finally:
        db.close()
    return done


def _open_store(path: Path) -> sqlite3.Connection:
    """Read-only, and without leaving -wal/-shm files behind (a dry run changes nothing in the run dir) when no
    writer has the store open: a writer in WAL mode always has its -wal file."""
    if not path.with_name(f"{path.name}-wal").exists():
        return sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    return open_readonly(path)


def _price(opts: Any, model: str, table: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    if isinstance(opts, ClientOptions):
        own = opts.prices(model)
        if own:
            return own[model]
    return price_of(model, table)


def _editor_identity(name: str, cls: type[Plugin[Any]], options: dict[str, Any]) -> dict[str, Any] | None:
    """The editor's identity without building it (that may load weights); None if the class defines its own."""
    if cls.identity is not Plugin.identity:
        return None
    return {"name": name, "version": cls.version, "options": cls.Options(**options).identity()}


class _EditorKey:
    """Just enough of an editor for `edit_key`: its identity."""

    def __init__(self, identity: dict[str, Any]) -> None:
        self._identity = identity

    def identity(self) -> dict[str, Any]:
        return self._identity


def estimate(
    spec: RunSpec,
    out: Path | None,
    *,
    use_cache: bool = True,
    prices: dict[str, tuple[float, float]] | None = None,
    edit: bool = True,
    retry_failed: bool = False,
    samples: Sequence[Sample] | None = None,
) -> list[Line]:
    """The plan's cost, per role: agent, editor, then each metric (see the module docstring for the rules).

    `edit=False` prices `mirabench score`: unfinished samples are left alone, only saved images are judged.
    `samples`: the suite's records if the caller has them (a run loads them once, for itself and its estimate)."""
    table = prices or {}
    spec = resolve(spec)  # as the run does: shared metric options, validated plugin options
    if samples is None:
        samples = load_samples(suites.build(spec.suite, **spec.suite_options), spec.limit)
    built = [metrics.build(n, **spec.metric_options.get(n, {})) for n in spec.metrics]
    done = _read_run_dir(out, {m.name: cache_key(m.identity()) for m in built}, retry_failed)
    agent_cls, editor_cls = agents.get(spec.agent), editors.get(spec.editor)
    agent_opts = agent_cls.Options(**spec.agent_options)
    editor_opts = editor_cls.Options(**spec.editor_options)
    planned = getattr(agent_cls, "planned_edits", None)
    identity = _editor_identity(spec.editor, editor_cls, spec.editor_options)
    cache = Cache() if use_cache else None
    edit_cache = cache if cache is not None and editor_cls.deterministic and identity is not None else None
    agent = Line("agent", spec.agent)
    editor = Line("editor", spec.editor)
    judges = [Line(f"metric {m.name}", m.name) for m in built]
    budgets = spec.curve_budgets()
    stored = ImageDir(out / "images") if out is not None and (out / "store.sqlite").exists() else None
    for sample in samples:
        if stored is not None and done.status.get(sample.id) in ("done", "failed") and done.source.get(sample.id):
            images = _judged_images(done, sample.id, budgets, stored)
        elif not edit:
            continue  # `score` judges finished samples only
        else:
            try:
                source = source_image(sample)
            except ImageLoadError:
                continue  # the run records it as failed: no calls
            images = _plan_sample(spec, sample, source, done, planned, edit_cache, identity, agent, editor)
        for metric, line in zip(built, judges, strict=True):
            _plan_judge(metric, line, sample, images, done, table)
    _price_agent_editor(spec, agent, agent_opts, editor, editor_opts, samples, table)
    if done.agent_ms:
        agent.seconds = agent.calls * sum(done.agent_ms) / len(done.agent_ms) / 1000
    if done.editor_ms:
        editor.seconds = editor.calls * sum(done.editor_ms) / len(done.editor_ms) / 1000
    for m in built:
        m.close()
    if cache is not None:
        cache.close()
    return [agent, editor, *judges] if edit else judges


@dataclass(frozen=True)
class Planned:
    """One run a command would make (a study makes several): its name, spec and run directory."""

    name: str
    spec: RunSpec
    out: Path


def estimate_plan(
    plan: Sequence[Planned], *, use_cache: bool = True, prices: dict[str, tuple[float, float]] | None = None
) -> list[tuple[str, list[Line]]]:
    """Each planned run's lines, every run priced against what its run dir and the cache hold now: work that one
    run of a study will cache for a later one (the same edits or judgements) is counted in both."""
    return [(p.name, estimate(p.spec, p.out, use_cache=use_cache, prices=prices)) for p in plan]


@dataclass(frozen=True)
class _ToJudge:
    """One image a sample's judges will see: known (`image`, or stored as `digest`) or not made yet (neither)."""

    source: Any  # a PIL image, or a zero-argument loader of the stored source
    image: Image.Image | None = None
    digest: str | None = None
    stored: ImageDir | None = None

    def images(self) -> tuple[Image.Image, Image.Image]:
        """(source, image) for building the judge's requests; the source stands in for an image not made yet."""
        source = self.source() if callable(self.source) else self.source
        if self.image is not None:
            return source, self.image
        if self.digest is not None and self.stored is not None:
            return source, self.stored.get(self.digest)
        return source, source

    @property
    def known(self) -> bool:
        return self.image is not None or self.digest is not None


def _judged_images(done: _Done, sid: str, budgets: Sequence[int], stored: ImageDir) -> list[_ToJudge]:
    """A finished sample's images to judge: its final image and its budget cuts, as the store holds them."""
    source_hash = done.source[sid]
    assert source_hash is not None
    edits = [h for h in done.edits.get(sid, []) if h]
    hashes = {(edits[min(k, len(edits)) - 1] if edits and k else source_hash) for k in [*budgets, len(edits)]}
    return [_ToJudge(lambda: stored.get(source_hash), None, h, stored) for h in sorted(hashes)]


def _plan_sample(
    spec: RunSpec,
    sample: Sample,
    source: Image.Image,
    done: _Done,
    planned: Any,
    cache: Cache | None,
    identity: dict[str, Any] | None,
    agent: Line,
    editor: Line,
) -> list[_ToJudge]:
    """Agent and editor calls of an unfinished sample; the images its judges will see (None: not made yet)."""
    made = len(done.edits.get(sample.id, []))
    left = spec.max_steps - made
    edits = planned(sample, spec.max_steps) if planned is not None else None
    if edits is None:
        agent.calls += left
        editor.calls += left
        agent.exact = editor.exact = False
        return [_ToJudge(source)]
    todo = list(edits)[made : spec.max_steps]
    agent.calls += len(todo) + (1 if made + len(todo) < spec.max_steps else 0)
    image: Image.Image | None = source if made == 0 else None
    for t, instruction in enumerate(todo, start=made):
        hit = None
        if cache is not None and identity is not None and image is not None:
            request = EditRequest(image, instruction, step_seed(spec.seed, sample.id, t), sample.id)
            hit = cache.get_image(edit_key(_EditorKey(identity), image_hash(image), request))  # type: ignore[arg-type]
        if hit is None:
            editor.calls += 1
            image = None
        else:
            image = hit[1]
    return [_ToJudge(source, image)]


def _plan_judge(metric: Any, line: Line, sample: Sample, images: list[_ToJudge], done: _Done, table: Any) -> None:
    """Judge calls for a sample's images: none for a judgement the run dir holds or an answer already paid for."""
    plan = getattr(metric, "planned_requests", None)
    keys = [c.key for c in metric.columns]
    for judged in images:
        if judged.digest is not None and all((sample.id, judged.digest, k) in done.scored for k in keys):
            continue
        if plan is None:
            line.calls += 1  # a metric without API requests: one judgement, no tokens
            continue
        config = metric.judge_config()
        line.api, line.model = config.provider != "local", config.model
        client = JudgeClient(config, journal=None)
        price = _price(metric.opts, config.model, table)
        for req in plan(ScoreItem(sample, *judged.images())):
            if judged.known and _answered(client, req, done):
                continue
            line.calls += 1
            if line.api:
                line.add_tokens(_judge_tokens(req, config), price)
        client.close()


def _answered(client: JudgeClient, req: ChatRequest, done: _Done) -> bool:
    return client.key(req) in done.answers or client.has_answer(req)


def _judge_tokens(req: ChatRequest, config: Any) -> tuple[int, int]:
    tokens_in, tokens_out = request_tokens(req, config.provider, config.model, config.image_detail)
    return tokens_in, tokens_out or 300  # no max_tokens sent: a judge's answer of ~300 tokens, an estimate


def _price_agent_editor(
    spec: RunSpec,
    agent: Line,
    agent_opts: Any,
    editor: Line,
    editor_opts: Any,
    samples: Sequence[Sample],
    table: dict[str, tuple[float, float]],
) -> None:
    """Tokens and dollars of API agents and editors (per call: images by the provider's rules, text estimated)."""
    side = 512
    if samples:
        try:
            side = max(source_image(samples[0]).size)
        except ImageLoadError:
            pass
    agent_cls, editor_cls = agents.get(spec.agent), editors.get(spec.editor)
    if isinstance(agent_opts, ClientOptions):
        provider = "gemini" if getattr(agent_cls, "provider", "openai") == "gemini" else "openai"
        shown = min(side, getattr(agent_opts, "image_size", None) or side)
        per_call = (2 * image_tokens(provider, agent_opts.model, shown, shown) + AGENT_TEXT_TOKENS, 0)
        per_call = (per_call[0], int(getattr(agent_opts, "max_tokens", 512)))
        agent.api, agent.model = True, agent_opts.model
        price = _price(agent_opts, agent_opts.model, table)
        agent.add_tokens((per_call[0] * agent.calls, per_call[1] * agent.calls), price)
    if isinstance(editor_opts, ClientOptions):
        provider = getattr(editor_cls, "provider", "openai")
        shown = min(side, getattr(editor_opts, "max_side", None) or side)
        tokens_in = image_tokens(provider, editor_opts.model, shown, shown) + 50
        quality = str(getattr(editor_opts, "quality", "auto") or "auto")
        tokens_out = GEMINI_IMAGE_OUTPUT if provider == "gemini" else EDIT_OUTPUT_TOKENS.get(quality, 4160)
        editor.api, editor.model = True, editor_opts.model
        price = _price(editor_opts, editor_opts.model, table)
        editor.add_tokens((tokens_in * editor.calls, tokens_out * editor.calls), price)
