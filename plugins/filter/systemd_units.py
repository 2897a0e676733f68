"""Reads `systemctl show --property=Id,UnitFileState,ActiveState UNIT...` and
names the units whose state differs from the wanted one, so that a converge
asks systemd to change only those (a module call per unit on every run costs
about a quarter of a second each). Used by the common and application roles;
unit tests: tests/filters/test_systemd_units.py."""


def systemd_show(stdout):
    """{Id: {property: value}} from systemctl show output (blank-line separated)."""
    units = {}
    for block in (stdout or "").split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            units[props["Id"]] = props
    return units


def _bool(value):
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


def systemd_units_differing(stdout, units):
    """The units ({name, enabled, running}) whose UnitFileState or
    ActiveState is not the wanted one (enabled/disabled, active/inactive);
    a unit systemd does not report differs too."""
    state = systemd_show(stdout)
    out = []
    for unit in units:
        props = state.get(unit["name"], {})
        if (props.get("UnitFileState") != ("enabled" if _bool(unit["enabled"]) else "disabled")
                or props.get("ActiveState") != ("active" if _bool(unit["running"]) else "inactive")):
            out.append(unit)
    return out


def systemd_not_running(stdout, names):
    """The names (in order) not both enabled and active; unknown units count."""
    wanted = [{"name": name, "enabled": True, "running": True} for name in names]
    return [unit["name"] for unit in systemd_units_differing(stdout, wanted)]


class FilterModule:
    def filters(self):
        return {"systemd_not_running": systemd_not_running, "systemd_units_differing": systemd_units_differing}
