"""Filters of the hardening role: what the host holds now, compared with
what the role wants, from one read each (`sysctl`, `apt list --upgradable`).
Unit tests: tests/filters/test_hardening.py.
"""

import re

# `apt list --upgradable`: "name/suite[,suite...] version arch [upgradable from: ...]"
_UPGRADABLE = re.compile(r"^([^/\s]+)/(\S+)\s")


def apt_security_upgrades(lines):
    """Names of the packages whose pending update comes from a security suite."""
    names = []
    for line in lines or []:
        m = _UPGRADABLE.match(line.strip())
        if m and any(suite.endswith("-security") for suite in m.group(2).split(",")):
            names.append(m.group(1))
    return sorted(set(names))


def sysctl_differing(lines, wanted):
    """The wanted settings ({key: value}) whose running value, as `sysctl KEY...`
    prints it ("key = value"), differs; a key the kernel does not have (no line)
    cannot be set and does not differ. Values compare by their words, as
    sysctl prints multi-value settings with tabs."""
    current = {}
    for line in lines or []:
        key, sep, value = line.partition(" = ")
        if sep:
            current[key.strip()] = value.split()
    return {
        key: value
        for key, value in (wanted or {}).items()
        if key in current and current[key] != str(value).split()
    }


class FilterModule:
    def filters(self):
        return {
            "apt_security_upgrades": apt_security_upgrades,
            "sysctl_differing": sysctl_differing,
        }
