"""Typed plugin registries for agents, editors, metrics and suites.

Three ways in, one lookup:

    from mirabench.registry import editors

    @editors.register("my-editor", description="...", needs=Needs(modules=("diffusers",), extra="local"))
    class MyEditor(Editor): ...                       # in-tree or any imported module

    editors.add_lazy("other", "my_pkg.editor:OtherEditor")   # imported only when built

    # third-party packages: entry point group "mirabench.editors", name = "my_pkg.editor:MyEditor"

    editor = editors.build("my-editor", steps=28)     # checks needs, validates options

In-tree plugin modules (mirabench.agents/editors/metrics/suites) are imported to register themselves, so they
must stay light: heavy libraries (torch, diffusers, openai) are imported inside methods, never at module top.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from mirabench.plugins import Agent, Editor, Metric, Needs, Options, Plugin, Suite

__all__ = [
    "Needs",
    "PluginError",
    "PluginInfo",
    "PluginUnavailable",
    "load_plugin_files",
    "Registry",
    "UnknownPlugin",
    "agents",
    "editors",
    "metrics",
    "registry_for",
    "suites",
]

P = TypeVar("P", bound=Plugin[Any])


class PluginError(Exception):
    """A plugin could not be found or built; the message is meant for the user as it is."""


class UnknownPlugin(PluginError):
    pass


class PluginUnavailable(PluginError):
    pass


@dataclass(frozen=True)
class PluginInfo:
    """Registry metadata, readable without importing the plugin's module."""

    name: str
    kind: str
    target: str | type[Plugin] | None
    description: str = ""
    version: str = ""
    needs: Needs = field(default_factory=Needs)
    source: str = "builtin"
    planned: str = ""

    @property
    def available(self) -> bool:
        return not self.planned and not self.needs.missing()

    @property
    def status(self) -> str:
        """What `mirabench list` shows: planned, ready, or the first thing missing here (see Needs.status)."""
        return "planned" if self.planned else self.needs.status()


class Registry(Generic[P]):
    """One namespace of plugins of one kind."""

    def __init__(self, kind: str, base: type[P], builtin_package: str) -> None:
        self.kind = kind
        self.base = base
        self._builtin_package = builtin_package
        self._entries: dict[str, PluginInfo] = {}
        self._discovered = False

    def register(
        self,
        name: str,
        *,
        description: str = "",
        needs: Needs | None = None,
    ) -> Callable[[type[P]], type[P]]:
        """Class decorator for plugins whose module is already imported."""

        def decorate(cls: type[P]) -> type[P]:
            if not issubclass(cls, self.base):
                raise TypeError(f"{cls.__name__} must subclass {self.base.__name__} to be a {self.kind}")
            cls.name = name
            doc = (cls.__doc__ or "").strip().splitlines()
            self._add(
                PluginInfo(
                    name,
                    self.kind,
                    cls,
                    description or (doc[0] if doc else ""),
                    cls.version,
                    needs or Needs(),
                    source=cls.__module__,
                )
            )
            return cls

        return decorate

    def add_lazy(
        self,
        name: str,
        target: str,
        *,
        description: str = "",
        needs: Needs | None = None,
        source: str = "lazy",
    ) -> None:
        """Register `"module:Class"` without importing it (third-party entry points, heavy modules)."""
        self._add(PluginInfo(name, self.kind, target, description, "", needs or Needs(), source=source))

    def add_planned(self, name: str, *, issue: str, description: str, needs: Needs | None = None) -> None:
        """A plugin the roadmap promises but this version does not ship: listed, and refused with a clear reason."""
        self._add(PluginInfo(name, self.kind, None, description, "", needs or Needs(), "planned", issue))

    def _add(self, info: PluginInfo) -> None:
        existing = self._entries.get(info.name)
        if existing is not None and not existing.planned and not info.planned and existing.source != info.source:
            raise PluginError(f"{self.kind} {info.name!r} is registered twice ({existing.source}, {info.source})")
        if existing is not None and not existing.planned and info.planned:
            return  # the real plugin already landed; the roadmap entry is stale
        self._entries[info.name] = info

    def discover(self) -> None:
        """Import in-tree plugin modules, plugin files named in $MIRABENCH_PLUGINS and entry points (once)."""
        if self._discovered:
            return
        self._discovered = True
        load_plugin_files(os.environ.get(PLUGINS_ENV, "").split(os.pathsep))
        package = importlib.import_module(self._builtin_package)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{self._builtin_package}.{module.name}")
        for ep in metadata.entry_points(group=f"mirabench.{self.kind}s"):
            if ep.name not in self._entries or self._entries[ep.name].planned:
                self._entries[ep.name] = PluginInfo(
                    ep.name,
                    self.kind,
                    ep.value,
                    "",
                    "",
                    Needs(),
                    source=f"entry point ({ep.dist.name if ep.dist else '?'})",
                )

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._entries)

    def infos(self) -> list[PluginInfo]:
        self.discover()
        return [self._entries[n] for n in sorted(self._entries)]

    def info(self, name: str) -> PluginInfo:
        self.discover()
        if name not in self._entries:
            close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownPlugin(
                f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {', '.join(sorted(self._entries))}"
                f" (see `mirabench list {self.kind}s`)."
            )
        return self._entries[name]

    def get(self, name: str) -> type[P]:
        """The plugin class, after checking that it is implemented and its needs are met."""
        info = self.info(name)
        if info.planned:
            raise PluginUnavailable(
                f"{self.kind} {name!r} ({info.description}) is not available yet in this version of mirabench"
                f" (tracked in {info.planned})."
                + (f" When it lands it will need {info.needs.describe()}." if info.needs.describe() else "")
            )
        problems = info.needs.missing()
        if problems:
            raise PluginUnavailable(f"{self.kind} {name!r} cannot be built: " + "; ".join(problems) + ".")
        cls = self._load(info)
        if not cls.name:
            cls.name = name
        return cls

    def options_model(self, name: str) -> type[Options] | None:
        """The plugin's Options model without checking its needs (for `mirabench list KIND NAME`); None for a
        planned plugin. A lazy plugin whose module cannot be imported here raises PluginUnavailable."""
        info = self.info(name)
        if info.planned:
            return None
        return self._load(info).Options

    def build(self, name: str, **options: Any) -> P:
        """Instantiate a plugin with validated options; bad options name the field."""
        cls = self.get(name)
        try:
            return cls(**options)
        except ValidationError as exc:
            raise PluginError(_option_errors(self.kind, name, exc, cls.Options)) from None

    def validate_options(self, name: str, options: dict[str, Any]) -> dict[str, Any]:
        """Check options without building the plugin (so a bad --set fails before any work starts)."""
        cls = self.get(name)
        try:
            return cls.Options(**options).model_dump(mode="json")
        except ValidationError as exc:
            raise PluginError(_option_errors(self.kind, name, exc, cls.Options)) from None

    def _load(self, info: PluginInfo) -> type[P]:
        target = info.target
        if isinstance(target, str):
            module_name, _, attr = target.partition(":")
            try:
                obj = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise PluginUnavailable(f"{self.kind} {info.name!r} could not be loaded from {target}: {exc}") from exc
            if not (isinstance(obj, type) and issubclass(obj, self.base)):
                raise PluginError(f"{target} is not a {self.base.__name__} subclass")
            self._entries[info.name] = replace(info, target=obj, version=obj.version)
            return obj
        assert isinstance(target, type)
        return target  # type: ignore[return-value]


def describe_options(model: type[Options]) -> list[dict[str, Any]]:
    """Each option's name, type, default (JSON-ready; "required" when it has none) and description."""
    rows = []
    for key, f in model.model_fields.items():
        if f.is_required():
            default: Any = "required"
        else:
            value = f.get_default(call_default_factory=True)
            default = value if isinstance(value, str | int | float | bool | type(None)) else _jsonable(value)
        ann = f.annotation
        type_name = ann.__name__ if isinstance(ann, type) else str(ann).replace("typing.", "").replace("pathlib.", "")
        rows.append({"name": key, "type": type_name, "default": default, "description": f.description or ""})
    return rows


def _jsonable(value: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(Any).dump_python(value, mode="json")


def _option_errors(kind: str, name: str, exc: ValidationError, model: type[Options]) -> str:
    lines = []
    valid = sorted(model.model_fields)
    for err in exc.errors():
        field_name = ".".join(str(p) for p in err["loc"]) or "(options)"
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(field_name, valid, n=1, cutoff=0.6)
            hint = f" Did you mean {kind}.{close[0]}?" if close else ""
            keys = ", ".join(valid) if valid else "none"
            lines.append(f"{kind}.{field_name}: no such option.{hint} Valid keys: {keys}")
            continue
        lines.append(f"{kind}.{field_name}: {err['msg']} (got {err.get('input')!r})")
    return f"invalid options for {kind} {name!r}: " + "; ".join(lines) + f" (see `mirabench list {kind}s {name}`)"


PLUGINS_ENV = "MIRABENCH_PLUGINS"
_loaded_files: dict[Path, str] = {}


def load_plugin_files(paths: Iterable[str | Path]) -> list[str]:
    """Import one-file plugins (`--plugin my_agent.py`, $MIRABENCH_PLUGINS); their decorators register them.

    Each file is imported once per process under a private module name; a missing or broken file is one
    PluginError naming it."""
    names = []
    for raw in paths:
        if not str(raw).strip():
            continue
        path = Path(raw).expanduser().resolve()
        if path in _loaded_files:
            names.append(_loaded_files[path])
            continue
        if not path.is_file():
            raise PluginError(f"plugin file {raw} does not exist")
        name = f"mirabench_plugin_{len(_loaded_files)}_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PluginError(f"plugin file {raw} is not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        _loaded_files[path] = name
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name], _loaded_files[path]
            raise PluginError(f"plugin file {raw} failed to import: {type(exc).__name__}: {exc}") from exc
        names.append(name)
    return names


agents: Registry[Agent[Any]] = Registry("agent", Agent, "mirabench.agents")
editors: Registry[Editor[Any]] = Registry("editor", Editor, "mirabench.editors")
metrics: Registry[Metric[Any]] = Registry("metric", Metric, "mirabench.metrics")
suites: Registry[Suite[Any]] = Registry("suite", Suite, "mirabench.suites")

KINDS: dict[str, Registry[Any]] = {"agent": agents, "editor": editors, "metric": metrics, "suite": suites}


def registry_for(kind: str) -> Registry[Any]:
    """Accept `agent`, `agents`, ... as the CLI does."""
    key = kind.rstrip("s")
    if key not in KINDS:
        raise UnknownPlugin(f"unknown plugin kind {kind!r}; choose from {', '.join(k + 's' for k in KINDS)}")
    return KINDS[key]


def all_infos(kinds: Iterable[str] = KINDS) -> list[PluginInfo]:
    return [info for kind in kinds for info in registry_for(kind).infos()]
