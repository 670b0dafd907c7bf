"""Plugin registry: lookup, lazy entries, planned plugins, needs and option validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mirabench.plugins import Editor
from mirabench.registry import Needs, PluginError, PluginUnavailable, Registry, UnknownPlugin, agents, editors


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(UnknownPlugin, match="Did you mean 'counter'"):
        agents.get("countr")


def test_planned_plugin_fails_with_a_clear_reason() -> None:
    reg: Registry[Editor] = Registry("agent", Editor, "mirabench.agents")  # mira-7b is real now (issue #5)
    reg._discovered = True
    reg.add_planned("mira-7b", issue="issue #5", description="MIRA", needs=Needs(modules=("torch",), extra="local"))
    with pytest.raises(PluginUnavailable) as err:
        reg.get("mira-7b")
    msg = str(err.value)
    assert "not available yet" in msg and "issue #5" in msg and "[local]" in msg


def test_real_plugin_supersedes_its_planned_entry() -> None:
    reg: Registry[Editor] = Registry("editor", Editor, "mirabench.editors")
    reg._discovered = True
    reg.add_planned("future", issue="issue #99", description="a roadmap editor")
    assert reg.info("future").planned and not reg.info("future").available

    @reg.register("future")
    class Future(Editor):
        pass

    assert reg.get("future") is Future
    reg.add_planned("future", issue="issue #99", description="a stale roadmap line")  # ignored: it has landed
    assert reg.get("future") is Future and not reg.info("future").planned


def test_missing_dependencies_and_keys_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    reg: Registry[Editor] = Registry("editor", Editor, "mirabench.editors")
    reg._discovered = True  # an isolated registry: nothing else in it

    @reg.register("needy", needs=Needs(modules=("no_such_module_xyz",), extra="local", env=("NEEDY_KEY",)))
    class Needy(Editor):
        pass

    monkeypatch.delenv("NEEDY_KEY", raising=False)
    with pytest.raises(PluginUnavailable) as err:
        reg.get("needy")
    assert "no_such_module_xyz" in str(err.value) and "mirabench[local]" in str(err.value)
    assert "NEEDY_KEY" in str(err.value)


def test_lazy_entry_is_imported_only_when_built() -> None:
    reg: Registry[Editor] = Registry("editor", Editor, "mirabench.editors")
    reg._discovered = True
    reg.add_lazy("lazy-toy", "toyworld:ToyEditor")
    assert isinstance(reg.info("lazy-toy").target, str)
    editor = reg.build("lazy-toy", fail_on="x")
    assert type(editor).__name__ == "ToyEditor" and editor.options.fail_on == "x"  # type: ignore[attr-defined]
    reg.add_lazy("broken", "toyworld:NoSuchClass")
    with pytest.raises(PluginUnavailable, match="could not be loaded from toyworld:NoSuchClass"):
        reg.get("broken")


def test_bad_option_names_the_field() -> None:
    with pytest.raises(PluginError, match=r"editor\.fail_onn: no such option\. Did you mean editor\.fail_on\?"):
        editors.build("toy", fail_onn="x")

    with pytest.raises(PluginError, match=r"agent\.fail_on_sample: Input should be a valid string"):
        agents.build("counter", fail_on_sample=["a"])


def test_register_refuses_non_plugins_and_duplicates() -> None:
    reg: Registry[Editor] = Registry("editor", Editor, "mirabench.editors")
    reg._discovered = True
    with pytest.raises(TypeError):
        reg.register("x")(int)  # type: ignore[type-var]

    @reg.register("dup")
    class A(Editor):
        pass

    with pytest.raises(PluginError, match="registered twice"):
        reg._add(type(reg.info("dup"))("dup", "editor", A, source="elsewhere"))


def test_core_import_and_list_do_not_import_torch() -> None:
    code = (
        "import sys, json\n"
        "from typer.testing import CliRunner\n"
        "from mirabench.cli.root import app\n"
        "res = CliRunner().invoke(app, ['list', '--json'])\n"
        "assert res.exit_code == 0, res.output\n"
        "names = {(p['kind'], p['name']) for p in json.loads(res.output)}\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'n': len(names),"
        " 'has': [('agent','mira-7b') in names, ('editor','kontext') in names, ('agent','direct') in names]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["torch"] is False
    assert got["has"] == [True, True, True]


def test_third_party_entry_point_is_discovered_and_built(tmp_path: Path) -> None:
    pkg = tmp_path / "thirdparty_editor"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from mirabench import Editor\n"
        "class ThirdEditor(Editor):\n"
        "    '''Returns the input unchanged.'''\n"
        "    version = '7'\n"
        "    def edit(self, request):\n"
        "        return request.image\n"
    )
    dist = tmp_path / "thirdparty_editor-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-editor\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mirabench.editors]\nthird = thirdparty_editor:ThirdEditor\n")
    code = (
        "from mirabench.registry import editors\n"
        "info = editors.info('third')\n"
        "print(info.source)\n"
        "e = editors.build('third')\n"
        "print(type(e).__name__, e.name, e.version)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "entry point (thirdparty-editor)"
    assert lines[1] == "ThirdEditor third 7"
