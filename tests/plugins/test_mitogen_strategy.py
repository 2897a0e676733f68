"""The mitogen_linear strategy plugin: Mitogen's module_utils scan compiles each
file once per run, and finds the same imports as without the cache."""
import importlib.util
import pathlib

import ansible.modules
from ansible_mitogen import module_finder

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = pathlib.Path(ansible.modules.__file__).parent
SEARCH_PATH = [str(pathlib.Path(ansible.modules.__file__).parents[1] / "module_utils")]


def _load_plugin():
    spec = importlib.util.spec_from_file_location("mitogen_linear", ROOT / "plugins" / "strategy" / "mitogen_linear.py")
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    return plugin


def _scan(name):
    return module_finder.scan("ansible.modules." + name, str(MODULES / (name + ".py")), SEARCH_PATH)


def test_scan_reuses_compiled_module_utils(monkeypatch):
    monkeypatch.delattr(module_finder, "compile", raising=False)
    names = ("file", "stat", "copy")
    uncached = {name: _scan(name) for name in names}
    plugin = _load_plugin()
    assert plugin.StrategyModule is not None
    memo = module_finder.compile
    cached = {}
    for name in names:
        before = memo.cache_info().misses
        cached[name] = _scan(name)
        compiled = memo.cache_info().misses - before
        if name == "file":
            # the first module compiles itself and every module_utils file it uses
            assert compiled == len(cached[name]) + 1
        else:
            # the next ones share basic.py and its helpers: only their own file
            assert compiled == 1, f"{name} compiled {compiled} files, not just itself"
    assert cached == uncached
    assert any(entry[0].endswith(".basic") for entry in cached["file"])
