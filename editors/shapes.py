"""`shapes`: a simulated instruction editor for the shapes world, exact but fallible like real editors.

It sees only pixels and text: perceive the input, split the instruction into clauses, resolve each against
the perceived scene, carry them out and render. Two seeded flaws (see mirabench.shapes.flaws): with k clauses
each is carried out with probability exp(-clause_decay * (k - 1)), and with probability `error_rate` per call
it also changes an object it was not asked to touch. Clauses it cannot parse or resolve are ignored, and an
input that is not a shapes render comes back unchanged.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from pydantic import Field

from mirabench.plugins import Editor, Options
from mirabench.registry import editors
from mirabench.shapes import agreement, apply, collateral_mistake, compliance, interpret, perceive, render
from mirabench.types import EditRequest


class ShapesEditorOptions(Options):
    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="probability of a collateral mistake per call")
    clause_decay: float = Field(0.25, ge=0.0, description="how fast per-clause compliance falls with length")


@editors.register("shapes", description="Simulated editor for the shapes world (exact, seeded, fallible)")
class ShapesEditor(Editor[ShapesEditorOptions]):
    """Carries out shapes instructions on shapes renders; partial on long instructions, sometimes careless."""

    version = "1"
    Options = ShapesEditorOptions

    def edit(self, request: EditRequest) -> Image.Image:
        opts = self.options
        rng = np.random.default_rng(request.seed % 2**64)
        image = request.image.convert("RGB")
        scene = perceive(image)
        if agreement(image, scene) < 0.99:
            return image  # not a shapes render: nothing this editor understands
        clauses = interpret(request.instruction, scene)
        p = compliance(len(clauses), opts.clause_decay)
        carried = [change for _, change in clauses if rng.random() < p and change is not None]
        edited = scene
        for change in carried:
            edited = apply(edited, change) or edited
        if rng.random() < opts.error_rate:
            asked = {o for _, c in clauses if c is not None for o in (c.before, c.after) if o is not None}
            edited = collateral_mistake(rng, edited, asked)
        return render(edited, image.size[0])
