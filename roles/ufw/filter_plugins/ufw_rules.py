"""Filters of the ufw role: which rules a host should hold, and how that
compares with what UFW holds (`ufw show added`, `ufw status verbose`).

One read of UFW's state and these comparisons replace a module call per
rule on every run: a converged host asks UFW twice and changes nothing.
Unit tests: tests/filters/test_ufw_rules.py.
"""

import re

_ADDED_FROM = re.compile(
    r"^ufw (allow|limit|deny|reject) from (\S+) to any port (\d+) proto (tcp|udp)(?: comment '([^']*)')?$"
)
_ADDED_ANY = re.compile(r"^ufw (allow|limit|deny|reject) (\d+)/(tcp|udp)(?: comment '([^']*)')?$")


def _rule(rule, port, proto, source, name):
    return {"rule": rule, "port": str(port), "proto": proto, "from": source, "name": name}


def ufw_line(rule):
    """The line `ufw show added` prints for a rule dict."""
    comment = " comment '%s'" % rule["name"] if rule.get("name") else ""
    if rule["from"] in ("any", "", None):
        return "ufw %s %s/%s%s" % (rule["rule"], rule["port"], rule["proto"], comment)
    return "ufw %s from %s to any port %s proto %s%s" % (rule["rule"], rule["from"], rule["port"], rule["proto"], comment)


def ufw_added_rules(lines):
    """Rule dicts from the lines of `ufw show added` (others are skipped)."""
    rules = []
    for line in lines or []:
        line = line.strip()
        m = _ADDED_FROM.match(line)
        if m:
            rules.append(_rule(m.group(1), m.group(3), m.group(4), m.group(2), m.group(5) or ""))
            continue
        m = _ADDED_ANY.match(line)
        if m:
            rules.append(_rule(m.group(1), m.group(2), m.group(3), "any", m.group(4) or ""))
    return rules


def ufw_missing(wanted, added_lines):
    """The wanted rules UFW does not hold yet."""
    held = {ufw_line(r) for r in ufw_added_rules(added_lines)}
    return [r for r in wanted if ufw_line(r) not in held]


def ufw_stale(added_lines, wanted, names):
    """Rules UFW holds whose comment names one of `names` but that are not
    wanted any more (a host left the inventory, a service moved)."""
    keep = {ufw_line(r) for r in wanted}
    return [r for r in ufw_added_rules(added_lines) if r["name"] in names and ufw_line(r) not in keep]


def ufw_status(stdout):
    """{'active': bool, 'logging': level or 'off' or None} from `ufw status verbose`."""
    active = False
    logging = None
    for line in (stdout or "").splitlines():
        if line.startswith("Status:"):
            active = line.split(":", 1)[1].strip() == "active"
        elif line.startswith("Logging:"):
            m = re.match(r"Logging: (on|off)(?: \((\w+)\))?", line)
            if m:
                logging = "off" if m.group(1) == "off" else (m.group(2) or "low")
    return {"active": active, "logging": logging}


def ufw_log_level(level):
    """UFW's name for a logging setting: `on` is `low`."""
    return "low" if str(level) == "on" else str(level)


def ufw_ssh_rules(sources, rule, port):
    """The SSH rules: one per source, or one from anywhere."""
    return [_rule(rule, port, "tcp", s, "ssh") for s in (sources or ["any"])]


def _serves(service, group_names):
    return bool(set(service.get("served_by") or []) & set(group_names))


def ufw_service_rules(services, inventory_hostname, group_names, groups, hostvars, address_var="estate_address"):
    """For each service this host serves, one rule per source: `any` for
    world services, else the address (hostvars[h][address_var]) of every other host of the
    `from` groups (a host reaching itself goes over loopback, which UFW
    always accepts), plus literal `sources`."""
    rules = []
    for service in services:
        if not _serves(service, group_names):
            continue
        if service.get("world"):
            sources = ["any"]
        else:
            sources = [
                hostvars[h][address_var]
                for g in service.get("from") or []
                for h in groups.get(g) or []
                if h != inventory_hostname
            ] + list(service.get("sources") or [])
        seen = set()
        for source in sources:
            if source in seen:
                continue
            seen.add(source)
            rules.append(_rule("allow", service["port"], service.get("proto", "tcp"), source, service["name"]))
    return rules


def ufw_source_hosts(services, inventory_hostname, group_names, groups):
    """The other hosts whose addresses this host's rules admit."""
    hosts = []
    for service in services:
        if not _serves(service, group_names) or service.get("world"):
            continue
        for g in service.get("from") or []:
            for h in groups.get(g) or []:
                if h != inventory_hostname and h not in hosts:
                    hosts.append(h)
    return hosts


class FilterModule:
    def filters(self):
        return {
            "ufw_line": ufw_line,
            "ufw_added_rules": ufw_added_rules,
            "ufw_missing": ufw_missing,
            "ufw_stale": ufw_stale,
            "ufw_status": ufw_status,
            "ufw_log_level": ufw_log_level,
            "ufw_ssh_rules": ufw_ssh_rules,
            "ufw_service_rules": ufw_service_rules,
            "ufw_source_hosts": ufw_source_hosts,
        }
