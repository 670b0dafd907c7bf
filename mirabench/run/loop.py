"""The closed editing loop, advanced for all live samples at once in waves.

At each wave the scheduler calls `Agent.plan_batch` once for every live sample and `Editor.edit_batch` once for
every sample whose agent asked for an edit; backends pick their own micro-batch sizes. Policies:

* `cumulative` (MIRA): the agent's atomic instruction edits the latest image I_{t-1};
* `refine` (EditThinker): the agent's refined full instruction re-edits the source image I0.

A sample stops when its agent says so (`agent`), when it has made `max_steps` edits (`budget`, decided before
the agent is asked, because the agent never sees its budget), or when a call fails (`error`). Finished samples
are handed to `on_finished` as soon as their wave is committed, so scoring overlaps with the samples still editing.

Each wave is committed (PNGs first, then one SQLite transaction) on a background thread while the next wave plans
and edits, so the editor does not wait for the store. Waves commit one at a time and in order; the next wave's
commit waits for the previous one. A kill -9 therefore loses at most two waves: the one being committed and the one
being edited. With `overlap_commits=False` each wave is committed before the next one starts (at most one lost).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from PIL import Image

from mirabench.cache import Cache
from mirabench.images import decoded_bytes
from mirabench.plugins import Agent, Editor
from mirabench.run.editing import run_edits
from mirabench.rundir.store import RunStore
from mirabench.types import Action, AgentState, Edit, EditRequest, Sample, Step, Stop, StopReason, Trajectory

__all__ = ["Finished", "LiveSample", "LoopStats", "Scheduler", "step_seed"]


def step_seed(run_seed: int, sample_id: str, step: int) -> int:
    """The editor seed of (sample, step): independent of batch order, rank count and resume point."""
    digest = hashlib.sha256(f"{run_seed}:{sample_id}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class LiveSample:
    """A trajectory in progress (fresh, or rebuilt from the store on resume)."""

    sample: Sample
    source: Image.Image
    source_hash: str
    latest: Image.Image
    latest_hash: str
    history: list[Step] = field(default_factory=list)
    new_source: bool = False

    @property
    def n_edits(self) -> int:
        return sum(1 for s in self.history if isinstance(s.action, Edit))


@dataclass
class Finished:
    """A trajectory that ended, with its final image in memory so scoring needs no disk read."""

    sample: Sample
    source: Image.Image
    final: Image.Image
    final_hash: str
    trajectory: Trajectory


@dataclass
class LoopStats:
    waves: int = 0
    agent_calls: int = 0
    editor_calls: int = 0
    editor_cache_hits: int = 0
    steps: int = 0
    agent_s: float = 0.0
    editor_s: float = 0.0
    store_s: float = 0.0


class Scheduler:
    """Runs trajectories to the end, wave by wave, committing each wave to the store."""

    def __init__(
        self,
        agent: Agent,
        editor: Editor,
        store: RunStore,
        *,
        max_steps: int,
        seed: int,
        cache: Cache | None = None,
        on_finished: Callable[[list[Finished]], None] = lambda _: None,
        max_live: int = 0,
        on_wave: Callable[[int, int], None] = lambda live, done: None,
        max_live_bytes: int = 0,
        thumbnail: Callable[[Image.Image], bytes] | None = None,
        thumbnail_ids: AbstractSet[str] = frozenset(),
        overlap_commits: bool = True,
    ) -> None:
        """`max_live` bounds the samples in flight by count, `max_live_bytes` by the bytes their source and latest
        images hold (0: no bound); a sample is admitted only while both allow it, and always one at least.
        `thumbnail(image)` makes the gallery thumbnail (JPEG bytes, committed with the wave) of each new image of
        the samples in `thumbnail_ids` (the report's gallery) while it is still in memory. `on_finished` and
        `on_wave` are called on the committing thread, after the wave's commit; with `overlap_commits` that thread
        runs beside the scheduler's."""
        self.agent, self.editor, self.store = agent, editor, store
        self.max_steps, self.seed, self.max_live = max_steps, seed, max_live
        self.max_live_bytes = max_live_bytes
        self.cache = cache
        self.on_finished, self.on_wave = on_finished, on_wave
        self.thumbnail, self.thumbnail_ids = thumbnail, thumbnail_ids
        self.overlap_commits = overlap_commits
        self.stats = LoopStats()
        self._committer: ThreadPoolExecutor | None = None
        self._committing: list[Future[None]] = []
        self._broken: BaseException | None = None

    def run(self, samples: Iterable[LiveSample]) -> LoopStats:
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit")
        try:
            self._advance(samples)
            self._wait_commit()
        finally:  # an error here: the wave being committed still completes (no half-written wave is left behind)
            self._committer.shutdown(wait=True)
        return self.stats

    def _wait_commit(self) -> None:
        """Wait for the commits queued so far, raising the first one's error (a full disk, a store failure) here."""
        committing, self._committing = self._committing, []
        for future in committing:
            future.result()

    def _advance(self, samples: Iterable[LiveSample]) -> None:
        pending: Iterator[LiveSample] = iter(samples)
        live: list[LiveSample] = []
        waiting: LiveSample | None = None  # loaded, but over the byte budget until a wave frees some
        exhausted = False
        while True:
            used = sum(_held(s) for s in live)
            while not exhausted and (self.max_live <= 0 or len(live) < self.max_live):
                nxt = waiting or next(pending, None)
                waiting = None
                if nxt is None:
                    exhausted = True
                elif live and self.max_live_bytes > 0 and used + _held(nxt) > self.max_live_bytes:
                    waiting = nxt
                    break
                else:
                    live.append(nxt)
                    used += _held(nxt)
            if not live:
                return
            live = self._wave(live)

    def _wave(self, live: list[LiveSample]) -> list[LiveSample]:
        """Plan every live sample; hand the ones that stopped to the committer at once (so they are judged while
        the others edit); edit; hand over the edits. A sample whose edit spends its budget ends in that wave."""
        self.stats.waves += 1
        ended: list[tuple[LiveSample, StopReason, str | None]] = []
        stop_steps: list[tuple[str, Step]] = []
        asking = []
        for s in live:
            if s.n_edits >= self.max_steps:  # a resumed sample whose budget was already spent
                ended.append((s, StopReason.BUDGET, None))
            else:
                asking.append(s)

        actions, agent_ms = self._plan(asking)
        editing: list[tuple[LiveSample, Edit, int]] = []
        for s, action in zip(asking, actions, strict=True):
            seed = step_seed(self.seed, s.sample.id, len(s.history))
            if isinstance(action, Edit):
                editing.append((s, action, seed))
                continue
            step = Step(len(s.history), action, None, seed, agent_ms)
            s.history.append(step)
            stop_steps.append((s.sample.id, step))
            ended.append(
                (s, StopReason.ERROR if action.error else StopReason.AGENT, action.reason if action.error else None)
            )
        if ended:
            self._hand_over([s for s, _, _ in ended], ended, stop_steps, [], [], len(live) - len(ended), queue=True)

        outputs, editor_ms, cache_puts = self._edit(editing, self.agent.policy)
        finished: list[tuple[LiveSample, StopReason, str | None]] = []
        new_steps: list[tuple[str, Step]] = []
        images: list[tuple[str, str, Image.Image, bytes | None]] = []
        for (s, action, seed), out in zip(editing, outputs, strict=True):
            if isinstance(out, str):
                s.history.append(Step(len(s.history), action, None, seed, agent_ms, editor_ms, out))
                finished.append((s, StopReason.ERROR, out))
            else:
                digest, image, raw = out
                images.append((s.sample.id, digest, image, raw))
                s.history.append(Step(len(s.history), action, digest, seed, agent_ms, editor_ms))
                s.latest, s.latest_hash = image, digest
                if s.n_edits >= self.max_steps:
                    finished.append((s, StopReason.BUDGET, None))
            new_steps.append((s.sample.id, s.history[-1]))
        done_ids = {id(s) for s, _, _ in finished}
        remaining = [s for s, _, _ in editing if id(s) not in done_ids]
        self._hand_over([s for s, _, _ in editing], finished, new_steps, images, cache_puts, len(remaining))
        return remaining

    def _hand_over(
        self,
        group: Sequence[LiveSample],
        finished: Sequence[tuple[LiveSample, StopReason, str | None]],
        steps: list[tuple[str, Step]],
        images: Sequence[tuple[str, str, Image.Image, bytes | None]],
        cache_puts: Sequence[tuple[str, str]],
        still_live: int,
        queue: bool = False,
    ) -> None:
        """Commit `group`'s new sources, the (sample id, digest, image, tobytes) `images`, `steps` and the
        `finished` samples, then call `on_finished`, on the committing thread. Unless `queue` (a wave's stops, handed
        over before its edit), first wait for the commits queued before: at most the previous wave is being
        committed while a wave edits."""
        fresh = [s for s in group if s.new_source]
        for s in fresh:
            s.new_source = False
        sources = [(s.sample.id, s.source_hash) for s in fresh]
        items = [(s.sample.id, s.source_hash, s.source, None) for s in fresh] + list(images)
        writes = [(digest, image, raw) for _, digest, image, raw in items]
        thumbs = {digest for sid, digest, _, _ in items if sid in self.thumbnail_ids}
        ended = [(s.sample.id, reason, err) for s, reason, err in finished]
        done = [
            Finished(s.sample, s.source, s.latest, s.latest_hash, Trajectory(s.sample.id, list(s.history), reason, err))
            for s, reason, err in finished
        ]
        self.stats.steps += len(steps)

        def commit() -> None:
            if self._broken is not None:  # an earlier commit failed: its steps are missing, so nothing after it goes in
                raise self._broken
            try:
                t0 = time.perf_counter()
                made: list[tuple[str, bytes]] = []
                self.store.put_images(writes, self._thumbnailer(thumbs, made))  # images before the rows naming them
                if self.cache is not None and cache_puts:
                    self.cache.link_images((key, digest, self.store.images.path(digest)) for key, digest in cache_puts)
                self.store.record_wave(steps, sources=sources, finished=ended, thumbnails=made)
                self.stats.store_s += time.perf_counter() - t0
                if done:
                    self.on_finished(done)
                self.on_wave(still_live, len(done))
            except BaseException as exc:
                self._broken = exc
                raise

        if not queue or not self.overlap_commits:
            self._wait_commit()
        assert self._committer is not None
        self._committing.append(self._committer.submit(commit))
        if not self.overlap_commits:
            self._wait_commit()

    def _thumbnailer(
        self, digests: AbstractSet[str], made: list[tuple[str, bytes]]
    ) -> Callable[[str, Image.Image], None] | None:
        """What `put_images` runs on each image it writes: the thumbnail of a gallery image, into `made`."""
        make = self.thumbnail
        if make is None or not digests:
            return None

        def maybe(digest: str, image: Image.Image) -> None:
            if digest in digests:
                made.append((digest, make(image)))  # from the store's writer threads: list.append is atomic

        return maybe

    def _plan(self, asking: Sequence[LiveSample]) -> tuple[list[Action], float]:
        if not asking:
            return [], 0.0
        states = [AgentState(s.sample, s.source, s.latest, len(s.history), tuple(s.history)) for s in asking]
        t0 = time.perf_counter()
        try:
            actions = list(self.agent.plan_batch(states))
            if len(actions) != len(states):
                raise RuntimeError(f"plan_batch returned {len(actions)} actions for {len(states)} states")
        except Exception:
            actions = [self._plan_one(state) for state in states]  # isolate the sample that fails
        elapsed = time.perf_counter() - t0
        self.stats.agent_calls += len(states)
        self.stats.agent_s += elapsed
        checked = [
            a if isinstance(a, (Edit, Stop)) else _agent_error(f"agent returned {type(a).__name__}") for a in actions
        ]
        checked = [
            _agent_error("agent returned an empty instruction")
            if isinstance(a, Edit) and not a.instruction.strip()
            else a
            for a in checked
        ]
        return checked, 1000 * elapsed / len(states)

    def _plan_one(self, state: AgentState) -> Action:
        try:
            return self.agent.plan_batch([state])[0]
        except Exception as exc:
            return _agent_error(f"agent {self.agent.name!r} failed: {type(exc).__name__}: {exc}")

    def _edit(
        self, editing: Sequence[tuple[LiveSample, Edit, int]], policy: str
    ) -> tuple[list[tuple[str, Image.Image, bytes | None] | str], float, list[tuple[str, str]]]:
        """Per request (hash, image, its packed pixels) or an error message; plus (cache key, hash) pairs to cache."""
        requests, bases = [], []
        for s, action, seed in editing:
            base, base_hash = (s.source, s.source_hash) if policy == "refine" else (s.latest, s.latest_hash)
            requests.append(EditRequest(base, action.instruction, seed, s.sample.id))
            bases.append(base_hash)
        t0 = time.perf_counter()
        outcomes, calls = run_edits(self.editor, requests, bases, self.cache)
        elapsed = time.perf_counter() - t0
        self.stats.editor_calls += calls
        self.stats.editor_cache_hits += sum(o.cached for o in outcomes)
        self.stats.editor_s += elapsed
        results: list[tuple[str, Image.Image, bytes | None] | str] = [
            (o.digest, o.image, o.raw) if o.image is not None and o.digest else (o.error or "editor produced no result")
            for o in outcomes
        ]
        cache_puts = [(o.key, o.digest) for o in outcomes if o.key and o.digest]
        return results, 1000 * elapsed / calls if calls else 0.0, cache_puts


def _held(s: LiveSample) -> int:
    """Bytes a live sample keeps decoded: its source and, once edited, its latest image."""
    return decoded_bytes(s.source) + (decoded_bytes(s.latest) if s.latest is not s.source else 0)


def _agent_error(message: str) -> Stop:
    return Stop(reason=message, error=True)
