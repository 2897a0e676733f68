"""Release id shown by /version, Sentry and logs."""

from pathlib import Path


def _first_line(path):
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text.splitlines()[0].strip() if text else None


def read_release(release_file, release_root, *, release=None):
    """APP_RELEASE if given, else APP_RELEASE_FILE if given, else RELEASE in
    the release root (written by the deployment), else the VERSION file, else
    "dev". node-wallet/src/sentry.js follows the same order."""
    if release and release.strip():
        return release.strip().splitlines()[0].strip()
    candidates = [release_file] if release_file else [Path(release_root) / "RELEASE"]
    candidates.append(Path(release_root) / "VERSION")
    for candidate in candidates:
        value = _first_line(candidate)
        if value:
            return value
    return "dev"
