"""Fault injection for the reliability tests: toy plugins and store/report hooks driven by one env var.

`MIRABENCH_FAULT="<stage>:<kind>[:<arg>]"` arms one fault in the current process (and in a CLI subprocess that
imports this module, see `cli_command`):

- stages `agent`, `editor` (wrapped toy plugins), `store` (RunStore.record_wave), `scores` (RunStore.put_scores),
  `images` (ImageDir.put), `report` (mirabench.reports.leaderboard.write_report);
- kinds `exception` (RuntimeError), `garbage` (agent: not an Action, editor: not an image), `crash` (SIGKILL of
  this very process), `enospc` (OSError ENOSPC), `transient` (one RuntimeError on the first call only);
- `arg`: the call number that fires (default 1) or, for agent/editor `exception`/`garbage`, the sample id that
  always fails.

Without the env var every wrapper behaves exactly like the plugin it wraps, so a fault-free reference run and a
faulty run share one config hash and a faulty run can be resumed with the fault disarmed.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image
from toyworld import CounterAgent, ToyEditor

from mirabench.registry import agents, editors
from mirabench.types import Action, AgentState, EditRequest

ENV = "MIRABENCH_FAULT"
CALLS: Counter[str] = Counter()
_COUNTING = threading.Lock()
TESTS = Path(__file__).resolve().parents[1]


def armed(stage: str) -> tuple[str, str] | None:
    """(kind, arg) when the env var names this stage, else None."""
    spec = os.environ.get(ENV, "")
    parts = spec.split(":", 2)
    if len(parts) < 2 or parts[0] != stage:
        return None
    return parts[1], parts[2] if len(parts) == 3 else "1"


def fire(stage: str) -> str | None:
    """Count a call of `stage`; raise, crash or return the kind ('garbage' / per-sample kinds) when armed."""
    with _COUNTING:  # hooked calls run on several threads (images are written by a pool): each sees its own count
        CALLS[stage] += 1
        n = CALLS[stage]
    fault = armed(stage)
    if fault is None:
        return None
    kind, arg = fault
    if not arg.isdigit():
        return kind  # per-sample faults are applied by the caller
    if kind == "transient":
        if n == 1:
            raise RuntimeError(f"injected transient {stage} fault")
        return None
    if n != int(arg):
        return None
    if kind == "crash":
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "enospc":
        raise OSError(errno.ENOSPC, "No space left on device (injected)")
    if kind == "exception":
        raise RuntimeError(f"injected {stage} fault")
    return kind


def reset() -> None:
    CALLS.clear()


@agents.register("faulty-counter")
class FaultyCounter(CounterAgent):
    """The toy `counter` agent, plus the armed agent fault."""

    def plan_batch(self, states: Sequence[AgentState]) -> list[Action]:
        kind = fire("agent")
        target = (armed("agent") or ("", ""))[1]
        if kind == "exception" and any(s.sample.id == target for s in states):
            raise RuntimeError(f"injected agent fault on {target}")
        out = super().plan_batch(states)
        if kind == "garbage":
            hit = [s.sample.id == target or target.isdigit() for s in states]
            out = ["{not an action" if h else a for h, a in zip(hit, out, strict=True)]  # type: ignore[misc]
        return out


@editors.register("faulty-toy")
class FaultyToyEditor(ToyEditor):
    """The toy editor, plus the armed editor fault."""

    def edit_batch(self, requests: Sequence[EditRequest]) -> list[Image.Image]:
        kind = fire("editor")
        target = (armed("editor") or ("", ""))[1]
        if kind == "exception" and any(r.sample_id == target for r in requests):
            raise RuntimeError(f"injected editor fault on {target}")
        out = super().edit_batch(requests)
        if kind == "garbage":
            hit = [r.sample_id == target or target.isdigit() for r in requests]
            out = [b"not a png" if h else o for h, o in zip(hit, out, strict=True)]  # type: ignore[misc]
        return out


def _wrap(owner: Any, attr: str, stage: str) -> None:
    real = getattr(owner, attr)
    if getattr(real, "_fault_wrapped", False):
        return

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fire(stage)
        return real(*args, **kwargs)

    wrapper._fault_wrapped = True  # type: ignore[attr-defined]
    setattr(owner, attr, wrapper)


def install() -> None:
    """Hook the store, image and report writes (no-ops unless armed). Idempotent."""
    import mirabench.reports.leaderboard
    from mirabench.images import ImageDir
    from mirabench.rundir.store import RunStore

    _wrap(RunStore, "record_wave", "store")
    _wrap(RunStore, "put_scores", "scores")
    _wrap(ImageDir, "put", "images")
    _wrap(mirabench.reports.leaderboard, "write_report", "report")


install()


def cli_command(*args: str) -> list[str]:
    """`python -c ...` running the mirabench CLI with these plugins and hooks loaded (for kill -9 tests)."""
    paths = [str(TESTS), str(Path(__file__).parent)]
    boot = (
        f"import sys; sys.path[:0] = {paths!r}; import faults; from mirabench.cli.root import main; "
        "sys.argv = ['mirabench', *sys.argv[1:]]; main()"
    )
    return [sys.executable, "-c", boot, *args]
