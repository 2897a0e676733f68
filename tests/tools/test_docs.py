"""The README and the role READMEs name only what the repository has.

- Paths: a repository path in backticks (or a word of a command in
  backticks, or a word in a fenced block) whose first part is an entry of the
  repository root (or, in a role's README, of the role: defaults/, tasks/...)
  exists, from the root (README.md) or from the role or the root (a role's
  README). Also accepted: a file the operator makes from `<path>.example`,
  and a git-ignored path (generated per machine). Host paths (/etc/...,
  /srv/..., any absolute path), URLs and placeholders (<x>, {a,b}, *) are
  not repository paths. A bare file name in backticks (`deploy.yml`) is a
  file somewhere in the repository (or the `<name>.j2` template of it).
- Layout: every entry of README.md's layout block exists; it lists every
  role and every Molecule scenario, and only tools that exist.
- Role variables: a `<role>_*` name in a role's README is an input of the
  role (defaults/main.yml or meta/argument_specs.yml) or an output (set_fact
  or register in its tasks or handlers); a name in its Outputs table is an
  output; a default shown in a variable table is the one in
  defaults/main.yml; a role with several entry points names each;
  `tasks_from: X` is a task file of the role.
- README.md names only variables that the playbooks, roles, group_vars or
  inventories mention.
- Commands: every `ansible-playbook ...` shown passes --syntax-check (run
  from the root with the venv's ansible-playbook, as shown: env assignments
  kept, optional [-e ...] arguments included, <placeholders> filled in,
  `--vault-id X@prompt` given a password file: a syntax check decrypts
  nothing), its inventory exists and each -e variable is read somewhere.
- Tools: every tools/ and .ci/ command exists and is executable, each
  subcommand shown is one of its `case` labels and each --option shown is
  in its text.
"""

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent for p in (REPO / "roles").glob("*/README.md"))
DOCS = [REPO / "README.md"] + [role / "README.md" for role in ROLES]
ROLE_SUBDIRS = {"defaults", "files", "filter_plugins", "handlers", "library", "meta", "module_utils", "tasks", "templates", "vars"}
# Not the repository's own files (tool venv, collections, caches, lab state).
WALK_SKIP = {".git", ".venv", "collections", "node_modules", ".cache", ".state", "__pycache__", ".pytest_cache"}
BARE_EXTENSIONS = (".yml", ".yaml", ".py", ".j2", ".cfg", ".toml", ".txt", ".ini", ".lua", ".md")
SHELL_FENCES = {"sh", "bash", "shell", "console"}

FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
PATHLIKE = re.compile(r"^[\w.-]+(?:/[\w.-]+)*/?$")
BARE_NAME = re.compile(r"^[\w-][\w.-]*$")
TOOL = re.compile(r"(?<![\w./-])((?:tools|\.ci)/[\w.-]+)")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
# Variables: README.md's namespaces (the estate's app_* and estate_*, the
# operator playbooks' -e names, every role's prefix).
README_PREFIXES = ["app", "estate", "restore", "manage"] + [role.name for role in ROLES]


def _rel(path):
    return str(path.relative_to(REPO))


def _split(text):
    """(inline code spans, [(fence language, fenced text)]) of a Markdown text.
    A span may wrap lines; its whitespace is collapsed."""
    blocks = [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(text)]
    prose = FENCE.sub("", text)
    spans = [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", prose) if "\n\n" not in s]
    return spans, blocks


def _sections(text):
    """{'## heading': body} of a Markdown text (level-2 headings)."""
    parts = re.split(r"^(## .*)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _clean(word):
    return word.strip("'\"()[]").rstrip(",;:")


def _is_ignored(rel):
    try:
        return subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", rel], capture_output=True).returncode == 0
    except OSError:
        return False


def _basenames():
    names = set()
    for _, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in WALK_SKIP]
        names.update(files)
    return names


def _bases(doc):
    """Where a path in this document starts: the role's directory, then the root."""
    return [doc.parent, REPO] if doc.parent.parent == REPO / "roles" else [REPO]


def _repo_path(word, doc):
    """True when the word names a path inside the repository (see the module doc)."""
    if "/" not in word or not PATHLIKE.match(word):
        return False
    first = word.split("/", 1)[0]
    if first in (".", ".."):
        return False
    role = doc.parent.parent == REPO / "roles"
    return (REPO / first).exists() or (role and (first in ROLE_SUBDIRS or (doc.parent / first).exists()))


def _path_exists(word, doc):
    for base in _bases(doc):
        path = base / word
        if path.exists() and (not word.endswith("/") or path.is_dir()):
            return True
        if Path(f"{path}.example").is_file():
            return True
        if path.resolve().is_relative_to(REPO) and _is_ignored(_rel(path.resolve())):
            return True
    return False


def _path_problems(doc):
    text = doc.read_text()
    spans, blocks = _split(text)
    words = set()
    for span in spans:
        words.update(_clean(w) for w in span.split())
    for _, body in blocks:
        words.update(_clean(w) for w in body.split())
    problems = [f"{_rel(doc)}: `{w}` is not in the repository" for w in sorted(words) if _repo_path(w, doc) and not _path_exists(w, doc)]
    basenames = _basenames()
    for span in sorted(set(spans)):
        if BARE_NAME.match(span) and span.endswith(BARE_EXTENSIONS) and not ({span, f"{span}.j2", f"{span}.example"} & basenames):
            problems.append(f"{_rel(doc)}: `{span}` is no file of the repository")
    return problems


def test_path_scanner_finds_a_wrong_path():
    """The scanner itself: the vault template without its inventory/ is
    reported, the real one, host paths, URLs and placeholders are not."""
    readme = REPO / "README.md"
    assert _repo_path("group_vars/prod/vault.yml.example", readme)
    assert not _path_exists("group_vars/prod/vault.yml.example", readme)
    assert _path_exists("inventory/prod/group_vars/prod/vault.yml.example", readme)
    assert _path_exists("inventory/prod/group_vars/prod/vault.yml", readme)  # made from its .example
    for word in ["/etc/nginx/nginx.conf", "https://example.com/x", "playbooks/<x>.yml", "inventory/{prod,lab}/", "postgresql_*_mb", "10r/s"]:
        assert not _repo_path(word, readme), word


@pytest.mark.parametrize("doc", DOCS, ids=_rel)
def test_paths_exist(doc):
    problems = _path_problems(doc)
    assert not problems, "\n".join(problems)


# --- README.md's layout block --------------------------------------------------


def _expand_braces(word):
    match = re.search(r"\{([^{}]*)\}", word)
    if not match:
        return [word]
    return [w for alt in match.group(1).split(",") for w in _expand_braces(word[: match.start()] + alt + word[match.end() :])]


def _layout():
    """[(path, description)] of the layout block: a line at column 0 is an
    entry, an indented name is inside the entry above it, a line indented as
    far as the descriptions continues the description above it."""
    body = _sections((REPO / "README.md").read_text())["## Layout"]
    block = FENCE.search(body).group(2)
    entries, parent = [], ""
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent >= 10 and entries:
            entries[-1][1] += " " + line.strip()
            continue
        name, _, description = line.strip().partition(" ")
        if indent:
            name = parent.rstrip("/") + "/" + name
        else:
            parent = name
        entries.append([name, description.strip()])
    return entries


def _listed(description):
    while re.search(r"\([^()]*\)", description):
        description = re.sub(r"\([^()]*\)", "", description)
    return [item.split()[0] for item in description.split(",") if item.strip()]


def test_layout():
    entries = dict(_layout())
    problems = [f"README.md layout: {path} is not in the repository"
                for name in entries for path in _expand_braces(name) if not (REPO / path).exists()]
    roles = set(_listed(entries.get("roles/", "")))
    actual_roles = {p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir()}
    if roles != actual_roles:
        problems.append(f"README.md layout: roles/ lists {sorted(roles)}, the repository has {sorted(actual_roles)}")
    scenarios = set(_listed(entries.get("molecule/", "")))
    actual_scenarios = {p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml")}
    if scenarios != actual_scenarios:
        problems.append(f"README.md layout: molecule/ lists {sorted(scenarios)}, the scenarios are {sorted(actual_scenarios)}")
    for tool in _listed(entries.get("tools/", "")):
        if not os.access(REPO / "tools" / tool, os.X_OK):
            problems.append(f"README.md layout: tools/{tool} is not an executable tool")
    assert not problems, "\n".join(problems)


# --- Role variables ------------------------------------------------------------


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _role_names(role):
    """(inputs, outputs, defaults) of a role."""
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    inputs = set(defaults)
    specs = role / "meta" / "argument_specs.yml"
    if specs.is_file():
        for entry in (yaml.safe_load(specs.read_text())["argument_specs"] or {}).values():
            inputs.update((entry or {}).get("options") or {})
    outputs = set()
    for path in sorted(role.glob("tasks/*.yml")) + sorted(role.glob("handlers/*.yml")):
        try:
            tasks = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            pytest.fail(f"{_rel(path)} is not YAML, so the role's outputs are unknown: {error}")
        for task in _walk(tasks):
            for key in ("ansible.builtin.set_fact", "set_fact"):
                if isinstance(task.get(key), dict):
                    outputs.update(k for k in task[key] if k != "cacheable")
            if isinstance(task.get("register"), str):
                outputs.add(task["register"])
    return inputs, outputs, defaults


def _names_in(text, role):
    """The `<role>_*` names of a text; `a_b/c/d` stands for a_b, a_c, a_d."""
    names = set()

    def expand(match):
        names.update(match.group(1) + alt for alt in [match.group(2)] + match.group(3).lstrip("/").split("/"))
        return " "

    text = re.sub(rf"(?<![\w$<>./-])({role}_(?:[a-z0-9]+_)*)([a-z0-9]+)((?:/[a-z0-9]+)+)(?![\w<])", expand, text)
    names.update(re.findall(rf"(?<![\w$<>./-])({role}_[a-z0-9_]*[a-z0-9])(?![\w*])", text))
    return names


def _table_rows(body):
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in body.splitlines()
            if line.lstrip().startswith("|") and not re.match(r"^\|[\s|:-]+\|$", line.strip())]


def _cell_names(cell):
    """[[names] per backticked token] of a table cell: `a_b/c` -> [a_b, a_c];
    `_port` after `x_host` -> x_port."""
    out, previous = [], None
    for token in re.findall(r"`([^`]+)`", cell):
        if token.startswith("_") and previous:
            out.append([previous.rsplit("_", 1)[0] + token])
            continue
        match = re.match(r"^((?:[a-z0-9]+_)+)([a-z0-9]+)((?:/[a-z0-9]+)+)$", token)
        names = [match.group(1) + alt for alt in [match.group(2)] + match.group(3).lstrip("/").split("/")] if match else [token]
        out.append(names)
        previous = names[0]
    return out


def _same(shown, real):
    try:
        parsed = yaml.safe_load(shown)
    except yaml.YAMLError:
        parsed = shown
    return parsed == real or str(parsed) == str(real) or shown == str(real)


def _default_problems(doc, rows, defaults):
    problems = []
    for row in rows:
        if len(row) < 2 or row[0] == "variable":
            continue
        names, values = _cell_names(row[0]), re.findall(r"`([^`]+)`", row[1])
        pairs = []
        if len(names) == 1 and len(names[0]) == 1 and isinstance(defaults.get(names[0][0]), list) and len(values) > 1:
            pairs = [(names[0][0], values)]
        elif len(names) == len(values):
            for group, value in zip(names, values, strict=True):
                parts = value.split("/") if len(group) > 1 else [value]
                if len(parts) == len(group):
                    pairs.extend(zip(group, parts, strict=True))
        for name, shown in pairs:
            real = defaults.get(name)
            if name not in defaults or real is None or "{{" in str(real):
                continue
            same = all(_same(s, r) for s, r in zip(shown, real, strict=True)) if isinstance(shown, list) and len(shown) == len(real) else \
                not isinstance(shown, list) and _same(shown, real)
            if not same:
                problems.append(f"{_rel(doc)}: `{name}` is shown with default {shown!r}, defaults/main.yml has {real!r}")
    return problems


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_role_variables(role):
    doc = role / "README.md"
    text = doc.read_text()
    inputs, outputs, defaults = _role_names(role)
    spans, blocks = _split(text)
    names = set()
    for piece in spans + [body for _, body in blocks]:
        names |= _names_in(piece, role.name)
    sections = _sections(text)
    for body in sections.values():
        for row in _table_rows(body):
            for group in _cell_names(row[0]):
                names.update(n for n in group if re.fullmatch(rf"{role.name}_\w+", n))
    problems = [f"{_rel(doc)}: `{n}` is neither an input of the role (defaults/main.yml, meta/argument_specs.yml) nor an output"
                for n in sorted(names - inputs - outputs)]
    for span in spans:
        if "*" in span and re.fullmatch(rf"{role.name}_[a-z0-9_*]+", span) and not fnmatch.filter(inputs | outputs, span):
            problems.append(f"{_rel(doc)}: `{span}` matches no variable of the role")
    for heading, body in sections.items():
        if heading.lower().startswith("## outputs"):
            for row in _table_rows(body)[1:]:
                for group in _cell_names(row[0]):
                    problems.extend(f"{_rel(doc)}: output `{n}` is not set by the role (set_fact/register)" for n in group if n not in outputs)
        if "variables" in heading.lower():
            problems.extend(_default_problems(doc, _table_rows(body), defaults))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_role_entry_points(role):
    doc = role / "README.md"
    text = doc.read_text()
    problems = [f"{_rel(doc)}: `tasks_from: {name}` is no task file of the role"
                for name in re.findall(r"tasks_from:\s*([\w.-]+)", text)
                if not ((role / "tasks" / name).is_file() or (role / "tasks" / f"{name}.yml").is_file())]
    specs = role / "meta" / "argument_specs.yml"
    entries = list(yaml.safe_load(specs.read_text())["argument_specs"]) if specs.is_file() else []
    spans, _ = _split(text)
    if len(entries) > 1:
        for entry in entries:
            named = (entry, f"{entry}.yml", f"tasks_from: {entry}", f"tasks_from: {entry}.yml")
            if not any(s in named or s.endswith(f"/{entry}.yml") for s in spans):
                problems.append(f"{_rel(doc)}: entry point `{entry}` (meta/argument_specs.yml) is not named")
    assert not problems, "\n".join(problems)


def _code_text():
    """Every YAML, Jinja and Python file of the estate (not the docs, not app/)."""
    paths = [REPO / "site.yml"]
    for top in ("group_vars", "inventory", "playbooks", "roles", "plugins"):
        paths += [p for p in (REPO / top).rglob("*") if p.is_file() and p.suffix in (".yml", ".j2", ".py", ".example")]
    return "\n".join(p.read_text() for p in paths)


def test_readme_variables():
    spans, _ = _split((REPO / "README.md").read_text())
    code = _code_text()
    pattern = re.compile(rf"(?<![\w$<>./-])((?:{'|'.join(README_PREFIXES)})_[a-z0-9_]*[a-z0-9])(?![\w*])")
    names = {n for span in spans for n in pattern.findall(span)}
    missing = sorted(n for n in names if not re.search(rf"\b{n}\b", code))
    assert not missing, "\n".join(f"README.md: `{n}` is not a variable of the playbooks, roles, group_vars or inventories" for n in missing)


# --- ansible-playbook commands -----------------------------------------------------


def _shell_lines(doc):
    spans, blocks = _split(doc.read_text())
    lines = list(spans)
    for language, body in blocks:
        if language in SHELL_FENCES:
            lines += [line.split(" # ")[0].strip() for line in body.splitlines() if not line.lstrip().startswith("#")]
    return lines


def _parse_command(line):
    """(env, argv) of a shown command: `$ ` and VAR=value stripped (kept as
    env), optional `[-e ...]` included, `<placeholder>` filled in, `...` dropped."""
    line = re.sub(r"\[(\s*-[^\[\]]*)\]", r"\1", line)
    line = re.sub(r"<([\w-]+)>", r"\1", line)
    try:
        argv = shlex.split(line)
    except ValueError:
        return {}, []
    if argv[:1] == ["$"]:
        argv = argv[1:]
    env = {}
    while argv and ENV_ASSIGNMENT.match(argv[0]):
        key, _, value = argv.pop(0).partition("=")
        env[key] = value
    return env, [a for a in argv if a != "..."]


def _playbook_commands():
    commands = {}
    for doc in DOCS:
        for line in _shell_lines(doc):
            env, argv = _parse_command(line)
            if argv[:1] == ["ansible-playbook"]:
                shown = " ".join([f"{k}={v}" for k, v in env.items()] + [shlex.quote(a) for a in argv])
                commands.setdefault(shown, (doc, env, argv))
    return commands


COMMANDS = _playbook_commands()


def _extra_var_names(argv):
    names = []
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag not in ("-e", "--extra-vars") or value.startswith("@"):
            continue
        if value.lstrip().startswith("{"):
            names += list(json.loads(value))
        else:
            names += [word.split("=", 1)[0] for word in shlex.split(value) if "=" in word]
    return names


def test_command_parser():
    env, argv = _parse_command("ANSIBLE_STRATEGY=linear ansible-playbook site.yml ...")
    assert (env, argv) == ({"ANSIBLE_STRATEGY": "linear"}, ["ansible-playbook", "site.yml"])
    env, argv = _parse_command("ansible-playbook playbooks/restore.yml -i inventory/prod -e restore_confirm=yes [-e restore_backup=<set>]")
    assert argv[-2:] == ["-e", "restore_backup=set"]
    assert _extra_var_names(argv) == ["restore_confirm", "restore_backup"]
    assert _extra_var_names(["-e", 'a="b c" d=e', "-e", '{"f": {"g": 1}}']) == ["a", "d", "f"]


def test_operator_commands_are_found():
    """The operator table's playbooks are among the commands checked below."""
    shown = {argv[1] for _, _, argv in COMMANDS.values()}
    wanted = {"site.yml"} | {f"playbooks/{p}.yml" for p in ("deploy", "rollback", "manage", "restart", "maintenance", "status", "backup", "restore")}
    assert wanted <= shown, f"not found in the READMEs: {sorted(wanted - shown)}"


def _ansible_playbook():
    local = Path(sys.executable).parent / "ansible-playbook"
    return str(local) if local.exists() else "ansible-playbook"


@pytest.mark.parametrize("shown", sorted(COMMANDS), ids=lambda shown: shown[:160])
def test_playbook_command(shown, tmp_path):
    doc, env, argv = COMMANDS[shown]
    password = tmp_path / "vault-pass"
    password.write_text("syntax-check-only\n")
    args = []
    for arg in argv[1:]:
        if arg in ("--ask-vault-pass", "--ask-vault-password", "-J"):
            args += ["--vault-password-file", str(password)]
        else:
            args.append(re.sub(r"^([\w-]+)@prompt$", rf"\1@{password}", arg))
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag in ("-i", "--inventory"):
            assert (REPO / value).exists(), f"{_rel(doc)}: `{shown}`: no inventory {value}"
    code = _code_text()
    unread = [n for n in _extra_var_names(argv) if not re.search(rf"\b{re.escape(n)}\b", code)]
    assert not unread, f"{_rel(doc)}: `{shown}`: nothing reads -e {', '.join(unread)}"
    result = subprocess.run([_ansible_playbook(), *args, "--syntax-check"], cwd=REPO, env={**os.environ, **env, "ANSIBLE_NOCOLOR": "1"},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{_rel(doc)}: `{shown}` fails --syntax-check:\n{result.stdout}\n{result.stderr}"


# --- tools -----------------------------------------------------------------------


def _tool_uses():
    """{tool: [(doc, words after it)]}: tools named anywhere in the docs; the
    words only where a command is shown (code spans, shell blocks)."""
    uses = {}
    for doc in DOCS:
        spans, blocks = _split(doc.read_text())
        for piece in spans + [body for _, body in blocks]:
            for tool in TOOL.findall(piece):
                uses.setdefault(tool, [])
        for line in _shell_lines(doc):
            for match in TOOL.finditer(line):
                uses[match.group(1)].append((doc, line[match.end() :].split()))
    return uses


TOOL_USES = _tool_uses()


@pytest.mark.parametrize("tool", sorted(TOOL_USES))
def test_tool(tool):
    path = REPO / tool
    assert path.is_file() and os.access(path, os.X_OK), f"{tool} (named in the docs) is not an executable file"
    script = path.read_text()
    problems = []
    for doc, words in TOOL_USES[tool]:
        subcommands = [words[0]] if words else []
        subcommands += [after for before, after in zip(words, words[1:], strict=False) if before == "|"]
        for word in subcommands:
            # A shell `case` branch, or an argparse subparser.
            if re.fullmatch(r"[a-z][a-z-]*", word) and not (
                    re.search(rf"^\s*(?:[\w|-]*\|)?{re.escape(word)}(?:\|[\w|-]*)?\)", script, re.M)
                    or re.search(rf"add_parser\(\s*[\"']{re.escape(word)}[\"']", script)):
                problems.append(f"{_rel(doc)}: `{tool} {word}`: {tool} has no subcommand {word}")
        for word in words:
            option = re.match(r"^\[?(--[\w-]+)", word)
            if option and option.group(1) not in script:
                problems.append(f"{_rel(doc)}: `{tool} {option.group(1)}`: {tool} has no such option")
    assert not problems, "\n".join(problems)
