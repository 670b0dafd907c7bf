"""`imported`: marks a run whose edited images were made outside mirabench (`mirabench import`).

It never edits: an imported run's images are already in its run directory, and `mirabench score` only judges
them. Its options (`label`, `images`) name the system and the folder the images came from, so they enter the
run's config hash and its report row.
"""

from __future__ import annotations

from PIL import Image

from mirabench.plugins import Editor, Options
from mirabench.registry import editors
from mirabench.types import EditRequest


class ImportedOptions(Options):
    label: str = "imported"
    images: str = ""


@editors.register("imported", description="Outputs produced elsewhere, brought in by `mirabench import`")
class ImportedEditor(Editor):
    """Placeholder editor of imported runs: refuses to edit (the run's images are given, not made)."""

    version = "1"
    Options = ImportedOptions

    def edit(self, request: EditRequest) -> Image.Image:
        raise RuntimeError("an imported run cannot make new edits; import the missing images again instead")
