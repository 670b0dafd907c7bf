"""Plugins the roadmap promises but this version does not ship yet.

They are listed by `mirabench list` and refused with a clear message (what it is, which issue tracks it, what it
will need) instead of an unknown-name error or a traceback. An entry disappears when its real plugin registers.
"""

from __future__ import annotations

from mirabench.registry import Needs, agents, editors, metrics, suites

LOCAL = Needs(modules=("torch", "transformers"), extra="local")
DIFFUSERS = Needs(modules=("torch", "diffusers"), extra="local")
OPENAI = Needs(modules=("openai",), extra="api", env=("OPENAI_API_KEY",))
GEMINI = Needs(modules=("google.genai",), extra="api", env=("GEMINI_API_KEY",))
IQA = Needs(modules=("torch", "pyiqa"), extra="local")

MODELS = "issue #5 (agents and editors)"
METRICS = "issue #4 (metric backends)"
SUITES = "issue #6 (benchmarks and studies)"

for name, desc in [
    ("mira-3b", "MIRA planner on Qwen2.5-VL-3B"),
    ("mira-7b", "MIRA planner on Qwen2.5-VL-7B"),
    ("editthinker", "EditThinker critic/refiner on Qwen3-VL-8B"),
]:
    agents.add_planned(name, issue=MODELS, description=desc, needs=LOCAL)
agents.add_planned("gpt-planner", issue=MODELS, description="MIRA planner prompt on a GPT model", needs=OPENAI)
agents.add_planned("gpt-thinker", issue=MODELS, description="EditThinker loop with GPT as thinker", needs=OPENAI)
agents.add_planned("gemini-planner", issue=MODELS, description="MIRA planner prompt on Gemini", needs=GEMINI)
agents.add_planned("rewrite-once", issue=MODELS, description="One planner rewrite of the instruction, one edit")

for name, desc in [
    ("kontext", "FLUX.1-Kontext-dev (diffusers)"),
    ("qwen-image-edit", "Qwen-Image-Edit (diffusers)"),
    ("qwen-image-edit-plus", "Qwen-Image-Edit-2509 (diffusers)"),
    ("instructpix2pix", "InstructPix2Pix (diffusers)"),
]:
    editors.add_planned(name, issue=MODELS, description=desc, needs=DIFFUSERS)
editors.add_planned("http", issue=MODELS, description="Any editor behind the mirabench HTTP editor protocol")
editors.add_planned("gpt-image", issue=MODELS, description="OpenAI GPT-Image edits API", needs=OPENAI)
editors.add_planned("nano-banana", issue=MODELS, description="Gemini image editing (Nano-Banana)", needs=GEMINI)

metrics.add_planned("gpt-sc", issue=METRICS, description="VIEScore-style SC/PQ/O judged by GPT", needs=OPENAI)
metrics.add_planned("gemini-sc", issue=METRICS, description="VIEScore-style SC/PQ/O judged by Gemini", needs=GEMINI)
metrics.add_planned("qwen3vl-sc", issue=METRICS, description="VIEScore-style SC/PQ/O judged by Qwen3-VL")
metrics.add_planned("editscore", issue=METRICS, description="EditScore reward model: SC, PQ, OA", needs=LOCAL)
metrics.add_planned("arniqa", issue=METRICS, description="ARNIQA no-reference IQA (pyiqa)", needs=IQA)
metrics.add_planned("topiq", issue=METRICS, description="TOPIQ no-reference IQA (pyiqa)", needs=IQA)
metrics.add_planned("imgedit-judge", issue=METRICS, description="ImgEdit-Bench 1-5 rubric judge", needs=OPENAI)

suites.add_planned("mira500", issue=SUITES, description="MIRA 500-sample complex-instruction benchmark")
suites.add_planned("imgedit", issue=SUITES, description="ImgEdit-Bench Basic single-step (737 items)")
suites.add_planned("gedit", issue=SUITES, description="GEdit-Bench EN/CN (11 task groups)")
