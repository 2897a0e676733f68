"""The scenarios' verify stages (molecule/shared/tests/estate.py): a test
marked state_changing runs after every other test, in file order."""

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "molecule/shared/tests/estate.py"
_spec = importlib.util.spec_from_file_location("estate", _PATH)
estate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(estate)


class Item:
    def __init__(self, name, state_changing=False):
        self.name, self._marked = name, state_changing

    def get_closest_marker(self, name):
        return object() if name == "state_changing" and self._marked else None


def test_state_changing_tests_run_last_and_keep_their_order():
    items = [Item("a"), Item("lifecycle_1", True), Item("b"), Item("lifecycle_2", True), Item("c")]
    estate.pytest_collection_modifyitems(items)
    assert [i.name for i in items] == ["a", "b", "c", "lifecycle_1", "lifecycle_2"]


def test_the_scenarios_that_change_state_load_the_stages():
    root = Path(__file__).resolve().parents[2] / "molecule"
    for conftest in (root / "shared/tests/conftest.py", root / "cluster/tests/conftest.py"):
        assert "pytest_collection_modifyitems" in conftest.read_text(), conftest
    for test in (root / "shared/tests/test_release_lifecycle.py", root / "cluster/tests/test_rolling.py"):
        assert "pytest.mark.state_changing" in test.read_text(), test
    assert not list(root.glob("*/tests/test_zz_*.py")), "order tests by the state_changing marker, not by file name"


def test_the_scenarios_read_the_app_name_from_the_inventory():
    import re

    import yaml

    root = Path(__file__).resolve().parents[2]
    name = yaml.safe_load((root / "group_vars/all/main.yml").read_text())["app_name"]
    assert estate.APP == name
    # The name as a literal (a word of its own, not the app's node-<name> directory).
    literal = re.compile(r"(?<![\w-])%s(?![\w])" % re.escape(name))
    offenders = [f"{path.relative_to(root)}:{n}" for path in sorted((root / "molecule").glob("*/tests/*.py"))
                 if not path.is_symlink()
                 for n, line in enumerate(path.read_text().splitlines(), 1) if literal.search(line)]
    assert offenders == [], "use estate.APP instead of the literal app name: " + ", ".join(offenders)
