"""Names the dependency environments of a release from its lock files.

A release links each environment in (venv, <node dir>/node_modules); the
environment's directory name carries a hash of what it is built from, so a
release with the same locks reuses it and a changed lock gets a new one.
"""

import hashlib

from ansible.errors import AnsibleFilterError


def _key(salt, checksums):
    digest = hashlib.sha256()
    for part in [salt, *checksums]:
        digest.update(str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _slug(path):
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in path.strip("/"))


def _node_lock_files(node_dir):
    return [f"{node_dir}/package.json", f"{node_dir}/package-lock.json"]


def lock_files(requirements_file, node_dirs):
    """The files whose content decides the environments, relative to the release."""
    return [requirements_file] + [f for node_dir in node_dirs for f in _node_lock_files(node_dir)]


def application_envs(stat_results, envs_dir, salt, requirements_file, node_dirs):
    """[{kind, path, src, link, dir}] from the stat results of lock_files()."""
    checksums = {}
    for result in stat_results:
        item, stat = result.get("item"), result.get("stat", {})
        if not stat.get("exists") or "checksum" not in stat:
            raise AnsibleFilterError(f"the release has no {item}: it cannot be built")
        checksums[item] = stat["checksum"]
    missing = [f for f in lock_files(requirements_file, node_dirs) if f not in checksums]
    if missing:
        raise AnsibleFilterError(f"no checksum for {', '.join(missing)}")

    path = f"{envs_dir}/python-{_key(salt, [checksums[requirements_file]])}"
    envs = [{"kind": "python", "path": path, "src": path, "link": "venv", "dir": ""}]
    for node_dir in node_dirs:
        path = f"{envs_dir}/node-{_slug(node_dir)}-{_key(salt, [checksums[f] for f in _node_lock_files(node_dir)])}"
        envs.append({"kind": "node", "path": path, "src": f"{path}/node_modules",
                     "link": f"{node_dir}/node_modules", "dir": node_dir})
    return envs


class FilterModule:
    def filters(self):
        return {"application_envs": application_envs, "application_lock_files": lock_files}
