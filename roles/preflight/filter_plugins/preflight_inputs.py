"""The shape of every input an operator sets, checked on the controller
before any host is contacted (roles/preflight/tasks/inputs.yml).

preflight_input_errors(checks, values, roots) -> one message per bad value.
Each check is a dict: name (the variable), kind (see KINDS, or "list" with
elements: the kind of each item), and optionally min/max (integers, cron fields), choices,
schemes (urls), min_items (lists), reserved (env: names not allowed),
secret (the value is never shown), required (bool) or required_if
({other_variable: value}). A variable that is not set is skipped unless
required. Each message names the variable, the value, what is allowed, and
the file where the value is set (searched in `roots`, in order).

preflight_port_clashes(entries, values, group_names, roots) -> messages for
two services that would listen on the same port of one host.
"""

import functools
import ipaddress
import os
import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
# systemd time spans (journald's MaxRetentionSec, timers): "1month", "2w 3d", "90s".
_SYSTEMD_TIME = re.compile(
    r"^(\s*\d+(\.\d+)?\s*(us|usec|ms|msec|s|sec|second|seconds|m|min|minute|minutes|h|hr|hour|hours"
    r"|d|day|days|w|week|weeks|M|month|months|y|year|years)?)+\s*$"
)
# systemd/journald sizes: bytes with an optional K, M, G, T, P or E (base 1024).
_SYSTEMD_SIZE = re.compile(r"^\d+(\.\d+)?[KMGTPE]?$")
# nginx: sizes "21m", times "65s" / "1d" / "1h30m", rates "10r/s".
_NGINX_SIZE = re.compile(r"^\d+[kKmMgG]?$")
_NGINX_TIME = re.compile(r"^(\d+(ms|s|m|h|d|w|M|y)?)+$")
_NGINX_RATE = re.compile(r"^\d+r/[sm]$")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_BATCH = re.compile(r"^[1-9][0-9]*%?$")
# Words systemd's IPAddressAllow= takes besides addresses and networks.
_SYSTEMD_IP_WORDS = {"any", "localhost", "link-local", "multicast"}


def _is_int(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()) is not None


def _hostname(value):
    if not isinstance(value, str) or not value:
        return "must be a host name"
    if "://" in value:
        return "must be a bare host name, without a scheme (http:// or https://)"
    if any(c.isspace() for c in value):
        return "must not contain spaces (list each name as its own item)"
    if "/" in value or ":" in value:
        return "must be a bare host name, without a port or a path"
    name = value[:-1] if value.endswith(".") else value
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        return ("must be a host name (RFC 1123: letters, digits and hyphens, labels of "
                "1 to 63 characters that do not start or end with a hyphen)")
    if name.replace(".", "").isdigit():
        return "must be a host name or a valid IP address"
    return None


def _ip(value):
    try:
        ipaddress.ip_address(str(value))
        return None
    except ValueError:
        return "must be an IP address (IPv4 or IPv6)"


def _network(value):
    try:
        ipaddress.ip_network(str(value), strict=False)
        return None
    except ValueError:
        return "must be an IP address or a network in CIDR notation (10.0.0.0/24, 2001:db8::/32)"


def _host(value):
    if _ip(value) is None:
        return None
    return _hostname(value)


def _systemd_ip(value):
    if isinstance(value, str) and value in _SYSTEMD_IP_WORDS:
        return None
    if _network(value) is None:
        return None
    return ("must be an IP address, a network in CIDR notation, or one of "
            + ", ".join(sorted(_SYSTEMD_IP_WORDS)))


def _port(value):
    if _is_int(value) and 1 <= int(value) <= 65535:
        return None
    return "must be a TCP port: an integer from 1 to 65535"


def _integer(value, check):
    low, high = check.get("min"), check.get("max")
    if not _is_int(value) or (low is not None and int(value) < low) or (high is not None and int(value) > high):
        if low is not None and high is not None:
            return f"must be an integer from {low} to {high}"
        if low is not None:
            return "must be a positive integer" if low == 1 else f"must be an integer of at least {low}"
        return "must be an integer"
    return None


def _fraction(value):
    """A share from 0 to 1 (Sentry's sample rates)."""
    if isinstance(value, bool):
        return "must be a number from 0 to 1"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "must be a number from 0 to 1"
    return None if 0.0 <= number <= 1.0 else "must be a number from 0 to 1"


def _boolean(value):
    if isinstance(value, bool):
        return None
    return "must be true or false (a YAML boolean, not a string)"


def _choice(value, check):
    choices = check.get("choices", [])
    if value in choices:
        return None
    return "must be one of: " + ", ".join(str(c) for c in choices)


def _email(value):
    if isinstance(value, str) and value.count("@") == 1:
        local, domain = value.split("@")
        if _EMAIL_LOCAL.match(local) and _hostname(domain) is None and "." in domain:
            return None
    return "must be an e-mail address (name@example.com)"


def _url(value, check):
    schemes = check.get("schemes", ["https"])
    allowed = " or ".join(f"{s}://" for s in schemes)
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return f"must be a URL starting with {allowed}, without spaces"
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        return f"must be a URL starting with {allowed}"
    try:
        port = parts.port
    except ValueError:
        return "must be a URL with a valid port"
    if not parts.hostname or _host(parts.hostname) is not None or (port is not None and port == 0):
        return "must be a URL with a valid host name"
    return None


def _path(value):
    if not isinstance(value, str) or not value.startswith("/"):
        return "must be an absolute path (starting with /)"
    if any(c.isspace() for c in value) or ".." in value.split("/"):
        return "must be an absolute path without spaces or '..'"
    return None


def _name(value):
    if isinstance(value, str) and _NAME.match(value):
        return None
    return ("must be a system name: lowercase letters, digits, '_' and '-', starting with "
            "a letter or '_', at most 32 characters (it names a user, units and a database)")


def _pattern(regex, what):
    """A kind that is a regular expression over the value's text (strings,
    and integers where the pattern allows bare numbers)."""
    def check(value, _check):
        if isinstance(value, str) and regex.match(value) or (_is_int(value) and regex.match(str(value))):
            return None
        return what
    return check


def _cron(value, check):
    low, high = check.get("min", 0), check.get("max", 59)
    what = f"must be a cron field: *, a number from {low} to {high}, a range a-b, a step */n, or a list of these"
    text = str(value).strip() if not isinstance(value, bool) else ""
    if not text:
        return what
    for part in text.split(","):
        match = re.fullmatch(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?", part)
        if not match:
            return what
        numbers = [int(n) for n in match.group(2, 3) if n is not None]
        if any(not low <= n <= high for n in numbers) or (len(numbers) == 2 and numbers[0] > numbers[1]):
            return what
        if match.group(4) is not None and int(match.group(4)) == 0:
            return what
    return None


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def env_name_reserved(name, reserved):
    """Whether NAME is one of RESERVED (NAME* a prefix); tools/import-env too."""
    return any(name == r or (r.endswith("*") and name.startswith(r[:-1])) for r in reserved or ())


def _env(value, check):
    """Extra environment of the services: {NAME: scalar}, never one of the
    names the estate writes itself (`reserved`, NAME* a prefix): the later
    line would win."""
    if not isinstance(value, dict):
        return "must be a mapping of environment variable names to values"
    for name, item in value.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            return f"has {name!r}, which is not an environment variable name (letters, digits, _)"
        if env_name_reserved(name, check.get("reserved")):
            return f"sets {name}, which the estate writes itself (set its own variable instead)"
        if isinstance(item, (dict, list)) or item is None:
            return f"has {name} set to {item!r}: values must be strings or numbers"
    return None


KINDS = {
    "hostname": lambda v, c: _hostname(v),
    "host": lambda v, c: _host(v),
    "ip": lambda v, c: _ip(v),
    "network": lambda v, c: _network(v),
    "systemd_ip": lambda v, c: _systemd_ip(v),
    "port": lambda v, c: _port(v),
    "int": _integer,
    "fraction": lambda v, c: _fraction(v),
    "bool": lambda v, c: _boolean(v),
    "choice": _choice,
    "email": lambda v, c: _email(v),
    "url": _url,
    "path": lambda v, c: _path(v),
    "name": lambda v, c: _name(v),
    "cron": _cron,
    "env": _env,
    "clock": _pattern(_CLOCK, "must be a time of day, HH:MM (24 hours)"),
    "systemd_time": _pattern(_SYSTEMD_TIME, "must be a systemd time span: a number and a unit (90s, 12h, 2weeks, 1month)"),
    "systemd_size": _pattern(_SYSTEMD_SIZE, "must be a size: a number and an optional K, M, G or T (500M, 2G)"),
    "nginx_size": _pattern(_NGINX_SIZE, "must be an nginx size: a number and an optional k, m or g (21m)"),
    "nginx_time": _pattern(_NGINX_TIME, "must be an nginx time: a number and a unit ms, s, m, h, d (65s, 1d)"),
    "nginx_rate": _pattern(_NGINX_RATE, "must be a request rate: a number of requests per second or minute (10r/s, 30r/m)"),
    # Ansible's `serial`: a number of hosts or a percentage of them.
    "batch": _pattern(_BATCH, 'must be a batch size (a positive number of hosts, or a percentage such as "25%")'),
}


@functools.cache
def _source(name, roots):
    """The first inventory or group_vars file that sets `name` (vault files
    excepted: they cannot be read here), or None. Cached: every bad item of a
    list, and every host, asks for the same names in the same files."""
    pattern = re.compile(r"^\s*" + re.escape(name) + r"\s*:", re.MULTILINE)
    for root in roots:
        if not root or not os.path.exists(root):
            continue
        candidates = [root] if os.path.isfile(root) else sorted(
            os.path.join(d, f) for d, _, files in os.walk(root) for f in files
            if f.endswith((".yml", ".yaml")) or "." not in f)
        for path in candidates:
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError):
                continue
            if not text.startswith("$ANSIBLE_VAULT") and pattern.search(text):
                return os.path.relpath(path)
    return None


def _where(name, roots):
    source = _source(name, tuple(roots))
    return f"set in {source}" if source else "set on the command line or a role default"


def _unset(value):
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _lookup(values, name):
    try:
        return True, values[name]
    except (KeyError, TypeError):
        return False, None
    except Exception as exc:  # an undefined variable inside a template
        if type(exc).__name__ in ("AnsibleUndefinedVariable", "UndefinedError"):
            return False, None
        raise


def _required(check, values):
    if check.get("required"):
        return True
    for other, wanted in (check.get("required_if") or {}).items():
        found, value = _lookup(values, other)
        if found and value == wanted:
            return f"{other} is {wanted}"
    return False


def preflight_input_errors(checks, values, roots=()):
    errors = []
    for check in checks:
        name, kind = check["name"], check["kind"]
        if (kind if kind != "list" else check.get("elements")) not in KINDS:
            raise ValueError(f"preflight_inputs: {name} has an unknown kind {kind!r} (elements: {check.get('elements')!r})")
        found, value = _lookup(values, name)
        if not found or _unset(value):
            required = _required(check, values)
            if required:
                why = f" (because {required})" if isinstance(required, str) else ""
                errors.append(f"{name} must be set{why}: it is {'empty' if found else 'not set'}; "
                              f"set it in the inventory's group_vars.")
            continue
        if kind == "list":
            if not isinstance(value, (list, tuple)) or isinstance(value, str):
                errors.append(f"{name} must be a list; got {value!r} ({_where(name, roots)}).")
                continue
            if len(value) < check.get("min_items", 0):
                errors.append(f"{name} must list at least {check['min_items']} item(s); got {value!r} "
                              f"({_where(name, roots)}).")
            element = dict(check, kind=check["elements"])
            for index, item in enumerate(value):
                why = KINDS[element["kind"]](item, element)
                if why:
                    errors.append(f"{name}[{index}] {why}; got {item!r} ({_where(name, roots)}).")
            continue
        why = KINDS[kind](value, check)
        if why:
            shown = "a value not shown (secret)" if check.get("secret") else repr(value)
            errors.append(f"{name} {why}; got {shown} ({_where(name, roots)}).")
    return errors


def preflight_port_clashes(entries, values, group_names, roots=()):
    """Entries: {name: variable} or {label:, port: number}, with served_by
    (inventory groups whose hosts listen on it)."""
    taken = {}  # port -> the entry that has it on this host
    errors = []
    for entry in entries:
        served_by = set(entry.get("served_by", []))
        if not served_by & set(group_names) and "all" not in served_by:
            continue
        if "name" in entry:
            found, port = _lookup(values, entry["name"])
            if not found or not _is_int(port):
                continue  # unset, or reported by preflight_input_errors
        else:
            port = entry["port"]
        port = int(port)
        first = taken.setdefault(port, entry)
        if first is not entry:
            where = "; ".join(_where(e["name"], roots) for e in (first, entry) if "name" in e)
            errors.append(f"{_label(entry)} and {_label(first)} both use port {port} on this host"
                          f"{' (' + where + ')' if where else ''}: give each service its own port.")
    return errors


def _label(entry):
    return entry.get("name", entry.get("label"))


class FilterModule:
    def filters(self):
        return {
            "preflight_input_errors": preflight_input_errors,
            "preflight_port_clashes": preflight_port_clashes,
        }
