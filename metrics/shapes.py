"""`shapes`: exact scores for the shapes world from the suite's ground truth and the edited image's pixels.

- shapes-sc (0-10): 10 x goals met / (goals + collateral changes), the Jaccard index between the changes
  asked for and the changes made, so an unmet goal and an unasked change cost the same.
- shapes-bg (0-10): 10 x the fraction of pixels that source and target share that the edit left alone.
- shapes-goals (0-1): fraction of sub-goals met.
- shapes-collateral (count, lower is better): objects changed (or conjured) that no goal touched, plus one
  for an unasked background change.
"""

from __future__ import annotations

from PIL import Image

from mirabench.plugins import Column, Metric, ScoreItem
from mirabench.registry import metrics
from mirabench.shapes import MIN_SIZE, Change, Scene, evaluate, perceive, preservation
from mirabench.types import Score, ScoreStatus

_KEYS = ("source", "target", "goals")


@metrics.register("shapes", description="Exact goal, collateral and background scores for the shapes suite")
class ShapesMetric(Metric):
    """Judges a final image against the shapes ground truth in `sample.extra` (perceived, no model)."""

    version = "1"
    columns = (
        Column("shapes-sc", 0, 10, True, "semantic consistency: goals met / (goals + collateral changes)"),
        Column("shapes-bg", 0, 10, True, "preservation of pixels the instruction should not change"),
        Column("shapes-goals", 0, 1, True, "fraction of sub-goals met"),
        Column("shapes-collateral", 0, 12, False, "objects changed that no goal touched"),
    )

    def score(self, item: ScoreItem) -> dict[str, Score]:
        extra = item.sample.extra
        if not all(k in extra for k in _KEYS):
            return {c.key: Score.failed(ScoreStatus.SKIPPED, "no shapes ground truth") for c in self.columns}
        source, target = Scene.from_dict(extra["source"]), Scene.from_dict(extra["target"])
        goals = [Change.from_dict(g) for g in extra["goals"]]
        width, height = item.source.size
        side = max(width if width == height else int(extra.get("size", 256)), MIN_SIZE)
        edited = item.edited.convert("RGB")
        if edited.size != (side, side):
            edited = edited.resize((side, side), Image.Resampling.NEAREST)
        result = evaluate(source, goals, perceive(edited))
        return {
            "shapes-sc": Score.ok(result.consistency, met=list(result.met), collateral=result.collateral),
            "shapes-bg": Score.ok(preservation(source, target, edited)),
            "shapes-goals": Score.ok(result.goals),
            "shapes-collateral": Score.ok(result.collateral),
        }
