"""`heuristic`: a perceive-reason-act planner for the shapes world (cumulative policy, no model).

Each step it sees only what a vision-language agent sees: I0, I_{t-1} and the instruction C.

1. perceive I0 and read C against it: the sub-goals, hence the target scene;
2. perceive I_{t-1} and diff it against the target;
3. stop when they match, else emit the one atomic edit that fixes the first discrepancy, repairs of
   collateral damage first, phrased with references that are unique in I_{t-1} so the editor resolves them.
"""

from __future__ import annotations

from mirabench.plugins import Agent
from mirabench.registry import agents
from mirabench.shapes import agreement, interpret, next_fix, perceive, target_scene
from mirabench.types import Action, AgentState, Edit, Stop


@agents.register("heuristic", description="Rule-based perceive-diff-act planner for the shapes world")
class HeuristicAgent(Agent):
    """Plans shapes edits from pixels and the instruction text only (never the sample's ground truth)."""

    version = "1"
    policy = "cumulative"

    def plan(self, state: AgentState) -> Action:
        source = perceive(state.source)
        if agreement(state.source, source) < 0.99:
            return Stop(reason="the source image is not a shapes scene", error=True)
        clauses = interpret(state.sample.instruction, source)
        goals = [change for _, change in clauses if change is not None]
        if not goals:
            return Stop(reason=f"could not understand any clause of {state.sample.instruction!r}", error=True)
        target = target_scene(source, goals)
        current = perceive(state.latest)
        if current == target:
            return Stop(reason="done: the image matches every sub-goal")
        fix = next_fix(current, target, source)
        if fix is None:
            return Stop(reason="no single edit brings the image closer to the goal")
        unread = [text for text, change in clauses if change is None]
        raw = ("repair" if fix.repair else "goal") + (f"; ignored clauses: {unread}" if unread else "")
        return Edit(fix.text, raw=raw)
