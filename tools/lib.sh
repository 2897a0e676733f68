# shellcheck shell=bash
# Shared helpers for tools/*: idempotent "ensure" steps that install and start
# what the lab and the tests need on a fresh Debian/Ubuntu machine (as root).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO_ROOT/.venv}"
STATE_DIR="${STATE_DIR:-$REPO_ROOT/.state}"
IMAGE_REPO="${IMAGE_REPO:-localhost/debian-systemd}"
ACNG_PORT=3142
export PATH="$VENV/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  log "Installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  if [ -d /run/systemd/system ]; then
    as_root systemctl start docker
  else
    # No systemd as PID 1 (CI containers): run the daemon ourselves.
    log "Starting dockerd"
    as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  die "Docker engine did not answer; see /var/log/dockerd.log"
}

# The host's address on docker0: what containers use to reach host services.
docker_gateway() {
  ip -4 -o addr show docker0 | awk '{ split($4, a, "/"); print a[1] }'
}

# apt-cacher-ng on the docker bridge: test hosts install real packages, but
# repeated runs fetch them from the local cache instead of the mirror.
ensure_apt_cache() {
  apt_install apt-cacher-ng
  local gw; gw="$(docker_gateway)"
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$ACNG_PORT/acng-report.html" 2>/dev/null; then
    log "Starting apt-cacher-ng on 127.0.0.1 and $gw"
    as_root mkdir -p /run/apt-cacher-ng /var/cache/apt-cacher-ng /var/log/apt-cacher-ng
    as_root chown apt-cacher-ng:apt-cacher-ng /run/apt-cacher-ng /var/cache/apt-cacher-ng /var/log/apt-cacher-ng
    # Own config dir: the stock one remaps deb.debian.org to ftp.debian.org,
    # which machines limited to deb.debian.org cannot reach.
    # (Under /run, not .state/: the daemon's user must read it, and .state/
    # holds the lab's SSH key and vault password, which stay private.)
    local conf=/run/apt-cacher-ng/conf
    as_root mkdir -p "$conf"
    as_root cp -a /etc/apt-cacher-ng/. "$conf/"
    echo "http://deb.debian.org/debian/" | as_root tee "$conf/backends_debian" >/dev/null
    as_root chmod -R a+rX "$conf"
    as_root start-stop-daemon --start --chuid apt-cacher-ng:apt-cacher-ng --quiet \
      --exec /usr/sbin/apt-cacher-ng -- -c "$conf" \
      "BindAddress=127.0.0.1 $gw" "Port=$ACNG_PORT" ConnectProto=v4 foreground=0 \
      pidfile=/run/apt-cacher-ng/pid SocketPath=/run/apt-cacher-ng/socket
    for _ in $(seq 1 20); do
      curl -fsS -o /dev/null "http://127.0.0.1:$ACNG_PORT/acng-report.html" 2>/dev/null && break
      sleep 0.5
    done
  fi
  APT_PROXY_HOST="http://127.0.0.1:$ACNG_PORT"
  APT_PROXY_CONTAINER="http://$gw:$ACNG_PORT"
  export APT_PROXY_HOST APT_PROXY_CONTAINER
}

ensure_venv() {
  local req="$REPO_ROOT/requirements.txt" stamp="$VENV/.requirements.sha256" want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ -x "$VENV/bin/ansible-playbook" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  if ! { python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null; }; then
    apt_install python3-venv
  fi
  log "Creating the tool venv in $VENV"
  python3 -m venv "$VENV"
  # (grep drops the noise of this machine's pip.conf pointing at absent local indexes)
  "$VENV/bin/pip" install -q --upgrade pip 2> >(grep -v 'is ignored' >&2)
  "$VENV/bin/pip" install -q -r "$req" 2> >(grep -v 'is ignored' >&2)
  echo "$want" >"$stamp"
}

# promtool from Debian's package, unpacked into .state/promtool (no service
# installed on this machine): tests/prometheus runs the alert rules' tests.
ensure_promtool() {
  local dir="$STATE_DIR/promtool" tmp
  [ -x "$dir/usr/bin/promtool" ] && return 0
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  log "Unpacking promtool into $dir"
  tmp="$(mktemp -d)"; chmod 0755 "$tmp"  # apt downloads as _apt
  # Debian 13 ships it alone; Debian 12 inside the prometheus package.
  (cd "$tmp" && { apt-get download -qq promtool 2>/dev/null || apt-get download -qq prometheus; })
  mkdir -p "$dir"
  dpkg-deb -x "$tmp"/*.deb "$dir"
  rm -rf "$tmp"
  [ -x "$dir/usr/bin/promtool" ] || die "no promtool in the package"
}

# Renovate's renovate-config-validator, pinned by tests/renovate/package-lock.json,
# installed from npm into .state/renovate (tools/test lint and the delivery
# tests validate renovate.json with it).
ensure_renovate_validator() {
  local dir="$STATE_DIR/renovate" want
  want="$(cat "$REPO_ROOT/tests/renovate/package.json" "$REPO_ROOT/tests/renovate/package-lock.json" | sha256sum | cut -d' ' -f1)"
  if [ -x "$dir/node_modules/.bin/renovate-config-validator" ] && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  log "Installing Renovate's config validator into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$REPO_ROOT/tests/renovate/package.json" "$REPO_ROOT/tests/renovate/package-lock.json" "$dir/"
  # Its optional native regex module builds from source only: RegExp does.
  (cd "$dir" && npm ci --omit=optional --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$dir/.stamp"
}

image_tag() { echo "$IMAGE_REPO:$1"; }

# Debian systemd base images, built locally (no registry is reachable).
# Rebuilt only when tools/build-image changes.
ensure_image() {
  local suite="$1" want have
  want="$(sha256sum "$REPO_ROOT/tools/build-image" | cut -c1-16)"
  have="$(docker image inspect -f '{{ index .Config.Labels "build-hash" }}' "$(image_tag "$suite")" 2>/dev/null || true)"
  [ "$have" = "$want" ] && return 0
  apt_install debootstrap
  log "Building $(image_tag "$suite")"
  "$REPO_ROOT/tools/build-image" "$suite" "$(image_tag "$suite")" "$want"
}

# The machine's own extra CA certificates, handed to test hosts so that
# HTTPS (pip, npm) works behind this machine's TLS-intercepting egress proxy.
host_extra_ca_files() {
  find /usr/local/share/ca-certificates -name '*.crt' -type f 2>/dev/null | sort
}

ensure_all() {
  apt_install ca-certificates curl openssl git rsync iproute2
  ensure_docker
  ensure_apt_cache
  ensure_venv
  local s
  for s in "$@"; do ensure_image "$s"; done
}
