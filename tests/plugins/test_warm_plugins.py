"""warm_plugins: after it ran, the plugins a task uses resolve without loading any
plugin file again (what each forked task worker would otherwise do)."""
import gc
import importlib.util
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
os.chdir(ROOT)  # ansible.cfg (filter_plugins = plugins/filter) before ansible loads
from ansible.plugins import loader  # noqa: E402

_SPEC = importlib.util.spec_from_file_location("warm_plugins", ROOT / "plugins" / "callback" / "warm_plugins.py")
warm_plugins = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(warm_plugins)


@pytest.fixture(scope="module")
def warmed():
    loader.init_plugin_loader()  # the collection finder, as ansible-playbook sets it up
    loader.add_all_plugin_dirs(str(ROOT / "plugins"))
    warm_plugins.warm()
    yield


def _no_loading(*_args, **_kwargs):
    raise AssertionError("a plugin file was loaded again after warm_plugins ran")


@pytest.mark.parametrize("name", ["bool", "combine", "to_nice_yaml", "estate_scrape_targets", "stable_bcrypt"])
def test_filters_resolve_without_loading(warmed, monkeypatch, name):
    monkeypatch.setattr(loader.PluginLoader, "_load_module_source", _no_loading)
    assert loader.filter_loader.get(name) is not None


@pytest.mark.parametrize("name", ["version", "match", "file"])
def test_tests_resolve_without_loading(warmed, monkeypatch, name):
    monkeypatch.setattr(loader.PluginLoader, "_load_module_source", _no_loading)
    assert loader.test_loader.get(name) is not None


@pytest.mark.parametrize("name", ["template", "copy", "assert", "uri"])
def test_action_plugins_are_imported(warmed, monkeypatch, name):
    monkeypatch.setattr(loader.PluginLoader, "_load_module_source", _no_loading)
    assert loader.action_loader.get(name, class_only=True) is not None


def test_lookups_are_imported(warmed, monkeypatch):
    monkeypatch.setattr(loader.PluginLoader, "_load_module_source", _no_loading)
    assert loader.lookup_loader.get("env", class_only=True) is not None


@pytest.mark.parametrize("package", ["community.postgresql", "community.crypto", "community.general", "ansible.posix"])
def test_collection_packages_are_imported(warmed, package):
    # Mitogen lists every collection's directory for each collection module a
    # task runs; each listing imports the package (and parses its runtime.yml)
    # unless the main process did.
    assert f"ansible_collections.{package}" in sys.modules


def test_objects_made_before_a_task_starts_are_out_of_the_workers_collector():
    # What a worker forked for the task inherits: frozen objects are never
    # walked by its garbage collector, so their pages are not copied.
    gc.unfreeze()
    made_before = [object() for _ in range(1000)]
    frozen_before = gc.get_freeze_count()
    warm_plugins.CallbackModule().v2_playbook_on_task_start(task=None, is_conditional=False)
    try:
        assert gc.get_freeze_count() >= frozen_before + len(made_before)
    finally:
        gc.unfreeze()
