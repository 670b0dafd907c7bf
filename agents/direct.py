"""`direct`: no agent at all. The complex instruction goes to the editor once, then the loop stops.

This is the baseline row of every table (the editor alone), and it works with any editor.
"""

from __future__ import annotations

from mirabench.plugins import Agent
from mirabench.registry import agents
from mirabench.types import Action, AgentState, Edit, Sample, Stop


@agents.register("direct", description="No agent: send the complex instruction once, then stop (baseline row)")
class DirectAgent(Agent):
    """Send the user's instruction unchanged at step 0 and stop at step 1."""

    version = "1"

    @classmethod
    def planned_edits(cls, sample: Sample, max_steps: int) -> list[str]:
        """The edits it will ask for, known before the run (for `mirabench estimate`)."""
        return [sample.instruction]

    def plan(self, state: AgentState) -> Action:
        if state.step == 0:
            return Edit(state.sample.instruction)
        return Stop("single edit done")
