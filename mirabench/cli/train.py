"""`mirabench train sft|grpo|merge-lora` and `mirabench data build-mira-editing` (typer; heavy imports deferred)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from mirabench.cli.common import HELP_SETTINGS, console, escape
from mirabench.spec import apply_sets

__all__ = ["build_mira_editing", "train_app"]

train_app = typer.Typer(
    no_args_is_help=True, help="Train the MIRA planner: SFT, then GRPO with an editor in the loop.", **HELP_SETTINGS
)


def _overrides(sets: list[str] | None) -> dict[str, Any]:
    """`--set key=value` for training configs: plain top-level fields (values parsed as YAML)."""
    return {k: v for k, v in apply_sets({}, sets or []).items()}


def _with_dataset(settings: Any) -> Any:
    """Refuse a missing dataset before any model loads, naming the command that builds one."""
    if not Path(settings.dataset).is_dir():
        raise FileNotFoundError(
            f"training dataset {settings.dataset} does not exist. Build one with `mirabench data build-mira-editing "
            "--out DIR` (--source shapes needs nothing else; see --help for the public sources), then pass "
            "--set dataset=DIR/dataset"
        )
    return settings


@train_app.command("sft")
def sft(
    config: Annotated[Path, typer.Option(help="YAML settings, e.g. configs/sft-7b.yaml")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a field, e.g. max_steps=10")] = None,
    eval_rows: Annotated[int, typer.Option(help="report the loss on the first N rows before and after")] = 0,
) -> None:
    """Stage 1: supervised fine-tuning on start/continue/stop rows."""
    from mirabench.training.config import SFTSettings, load_settings

    settings = _with_dataset(load_settings(config, SFTSettings, _overrides(set_)))
    from mirabench.training.sft import train_sft

    result = train_sft(settings, eval_rows=eval_rows)
    console.print(escape(f"SFT checkpoint: {result.output_dir.resolve()}  {json.dumps(result.metrics)}"))


@train_app.command("grpo")
def grpo(
    config: Annotated[Path, typer.Option(help="YAML settings, e.g. configs/grpo-7b.yaml")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a field, e.g. max_steps=10")] = None,
) -> None:
    """Stage 2: GRPO (LoRA) with rewards from an editor plugin and a metric plugin."""
    from mirabench.training.config import GRPOSettings, load_settings

    settings = _with_dataset(load_settings(config, GRPOSettings, _overrides(set_)))
    from mirabench.training.grpo import train_grpo

    result, reward = train_grpo(settings)
    console.print(
        escape(
            f"GRPO adapter: {result.output_dir.resolve()}  reward calls {reward.stats.calls}, "
            f"edits {reward.stats.edits_executed}, failed judgements {reward.stats.failures}"
        )
    )


@train_app.command("merge-lora")
def merge(
    adapter: Annotated[Path, typer.Argument(help="a LoRA adapter folder (e.g. GRPO output)")],
    out: Annotated[Path, typer.Option(help="folder for the merged full weights")],
    base: Annotated[str | None, typer.Option(help="base model (default: the one the adapter records)")] = None,
) -> None:
    """Fold an adapter into its base model; the result loads with --set agent.path=OUT."""
    from mirabench.training.checkpoint import merge_lora

    console.print(escape(f"merged checkpoint: {merge_lora(adapter, out, base).resolve()}"))


def build_mira_editing(
    out: Annotated[Path, typer.Option(help="output folder (re-running resumes)")],
    source: Annotated[
        str, typer.Option(help="shapes (built-in), or seed-data-edit, imgedit-multiturn, magicbrush (at --path)")
    ] = "shapes",
    path: Annotated[Path | None, typer.Option(help="local copy of the source dataset")] = None,
    n: Annotated[int, typer.Option(help="sessions to use (shapes: to generate)")] = 1000,
    editor: Annotated[str, typer.Option(help="editor plugin that executes candidates")] = "shapes",
    metric: Annotated[str, typer.Option(help="metric plugin that ranks candidates (first column)")] = "shapes",
    rewriter: Annotated[
        str, typer.Option(help="shapes (exact grammar), gpt or gemini (through the judge client), none")
    ] = "auto",
    rewriter_model: Annotated[str | None, typer.Option(help="model id for gpt/gemini rewriting")] = None,
    rewrites: Annotated[int, typer.Option(help="two-level rewrites per variant")] = 1,
    seed: Annotated[int, typer.Option(help="sampling and editor seed")] = 0,
    set_: Annotated[list[str] | None, typer.Option("--set", help="editor.K=V or metrics.NAME.K=V")] = None,
) -> None:
    """MIRA-Editing construction: aggregate, rewrite, execute and rank, decompose into a `datasets` folder."""
    from mirabench.registry import editors, metrics
    from mirabench.training.data import READERS, build, shapes_sessions

    opts = apply_sets({}, set_ or [])
    if source == "shapes":
        sessions = list(shapes_sessions(n, seed))
    elif source in READERS:
        if path is None:
            raise ValueError(f"--source {source} needs --path to a local copy of the dataset")
        sessions = READERS[source](path)[:n]
    else:
        raise ValueError(f"unknown --source {source!r}; choose shapes, {', '.join(READERS)}")
    chosen = _rewriter(rewriter if rewriter != "auto" else ("shapes" if source == "shapes" else "none"), rewriter_model)
    stats = build(
        sessions,
        out,
        editors.build(editor, **opts.get("editor_options", {})),
        metrics.build(metric, **opts.get("metric_options", {}).get(metric, {})),
        rewriter=chosen,
        rewrites=rewrites if chosen else 0,
        seed=seed,
    )
    console.print(escape(f"dataset: {(out / 'dataset').resolve()}  {json.dumps(stats)}"))


def _rewriter(name: str, model: str | None) -> Any:
    from mirabench.training.data import ChatRewriter, ShapesRewriter

    if name == "none":
        return None
    if name == "shapes":
        return ShapesRewriter()
    if name in ("gpt", "gemini"):
        from mirabench.backends.api_chat import ApiChat, ApiChatOptions

        options = ApiChatOptions(**({"model": model} if model else {}), temperature=0.7)
        if name == "gemini" and not model:
            options = options.model_copy(update={"model": "gemini-2.5-flash"})
        return ChatRewriter(ApiChat("openai" if name == "gpt" else "gemini", options))
    raise ValueError(f"unknown --rewriter {name!r}; choose shapes, gpt, gemini or none")
