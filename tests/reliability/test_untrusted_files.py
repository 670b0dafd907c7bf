"""Untrusted files: no pickle anywhere we load or write, `torch.load` only with weights_only=True, weights saved
as safetensors, `trust_remote_code` off unless the user asks (static scan of the package, then the options)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mirabench.registry import agents, editors, metrics, suites

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for d in ("mirabench", "agents", "editors", "metrics", "training") for p in (ROOT / d).rglob("*.py"))
PICKLERS = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_const(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _callee(call: ast.Call) -> str:
    f = call.func
    if isinstance(f, ast.Attribute):
        base = f.value.id if isinstance(f.value, ast.Name) else ""
        return f"{base}.{f.attr}"
    return f.id if isinstance(f, ast.Name) else ""


def problems(source: str, where: str) -> list[str]:
    """Unsafe-deserialisation patterns in one module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{line}: imports {a.name}" for a in node.names if a.name.split(".")[0] in PICKLERS]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PICKLERS:
            found.append(f"{line}: imports from {node.module}")
        elif isinstance(node, ast.Call):
            name = _callee(node)
            if name == "torch.load":
                if not _is_const(_kw(node, "weights_only"), True):
                    found.append(f"{line}: torch.load without weights_only=True")
            if name.endswith(".read_pickle") or name.endswith("torch.save"):
                found.append(f"{line}: {name}")
            if _is_const(_kw(node, "allow_pickle"), True):
                found.append(f"{line}: allow_pickle=True")
            if _is_const(_kw(node, "trust_remote_code"), True):
                found.append(f"{line}: trust_remote_code=True hard-coded")
            if _is_const(_kw(node, "safe_serialization"), False):
                found.append(f"{line}: safe_serialization=False")
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.target.id == "trust_remote_code" and not _is_const(node.value, False):
                found.append(f"{line}: option trust_remote_code does not default to False")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args[len(node.args.args) - len(node.args.defaults) :] + node.args.kwonlyargs
            defaults = list(node.args.defaults) + list(node.args.kw_defaults)
            for arg, default in zip(args, defaults, strict=True):
                if arg.arg == "trust_remote_code" and default is not None and not _is_const(default, False):
                    found.append(f"{line}: {node.name}(trust_remote_code=...) does not default to False")
    return found


def test_the_scan_catches_each_pattern() -> None:
    bad = """
import pickle
from joblib import load
import torch
torch.load("x.pt")
torch.load("x.pt", weights_only=False)
torch.save(model, "x.pt")
np.load("a.npy", allow_pickle=True)
AutoModel.from_pretrained(p, trust_remote_code=True)
model.save_pretrained(out, safe_serialization=False)
class O:
    trust_remote_code: bool = True
def f(path, trust_remote_code=True): ...
"""
    assert len(problems(bad, "bad.py")) == 10
    good = 'torch.load("x.pt", weights_only=True)\ndef f(p, trust_remote_code=False): ...\n'
    assert problems(good, "good.py") == []


def test_no_module_loads_or_writes_untrusted_formats() -> None:
    assert len(SOURCES) > 50  # the scan really sees the package (mirabench/ plus the plugin folders)
    found = [p for path in SOURCES for p in problems(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []


@pytest.mark.parametrize("registry", [agents, editors, metrics, suites], ids=lambda r: r.kind)
def test_every_plugin_keeps_remote_code_off_by_default(registry) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for info in registry.infos():
        if info.planned or not info.available:
            continue
        field = registry.get(info.name).Options.model_fields.get("trust_remote_code")
        if field is not None:
            assert field.default is False, f"{registry.kind} {info.name}: trust_remote_code defaults to {field.default}"
            checked += 1
    if registry is agents:
        assert checked > 0  # the local VLM agents expose the option, so this check is not vacuous
