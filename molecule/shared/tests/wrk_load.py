"""A steady load through Nginx for tests that change what serves (deploys,
rollbacks): Debian's wrk on a test host, paced by bench/status.lua (the
bench's own script), in the background until the with-block ends. Shared by
the all-in-one and the cluster scenarios."""

import os
import re
import time

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
SCRIPT = "/root/status.lua"
OUT = "/root/wrk-load.txt"


def install(host):
    """wrk and the pacing script on host (a load generator, not the estate's)."""
    result = host.run("command -v wrk || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk")
    assert result.rc == 0, result.stderr
    with open(os.path.join(REPO, "bench/status.lua"), encoding="utf-8") as handle:
        script = handle.read()
    assert "EOF_LUA" not in script
    assert host.run(f"cat >{SCRIPT} <<'EOF_LUA'\n{script}EOF_LUA").rc == 0
    return host


class Load:
    """About connections * 1000 / delay_ms requests/s on url, a new connection
    per request: each Nginx reload (a drain) closes idle keep-alive
    connections, which browsers notice before reusing one and wrk does not
    (it would count read errors); this leaves only real failures."""

    def __init__(self, host, url, host_header="localhost", connections=8, delay_ms=50):
        self.host, self.url, self.host_header = host, url, host_header
        self.connections, self.delay_ms = connections, delay_ms

    def __enter__(self):
        self.host.run(f"rm -f {OUT}")
        started = self.host.run(
            f"BENCH_DELAY_MS={self.delay_ms} nohup wrk -t2 -c{self.connections} -d1800s --timeout 10s --latency "
            f"-s {SCRIPT} -H 'Host: {self.host_header}' -H 'Connection: close' {self.url} "
            f">{OUT} 2>&1 </dev/null & echo started"
        )
        assert "started" in started.stdout
        time.sleep(5)
        return self

    def __exit__(self, *exc):
        # wrk prints its summary (and the script's lines) when interrupted.
        self.host.run("pkill -INT -x wrk")
        for _ in range(30):
            if "BENCH_ZERO_SECONDS" in self.host.run(f"cat {OUT}").stdout:
                break
            time.sleep(1)
        return False

    def summary(self):
        text = self.host.run(f"cat {OUT}").stdout
        requests = re.search(r"(\d+) requests in", text)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        zero = re.search(r"BENCH_ZERO_SECONDS count=(\d+)", text)
        return {
            "requests": int(requests.group(1)) if requests else 0,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
            # -1 when the script's summary is missing: fails an == 0 check.
            "zero_seconds": int(zero.group(1)) if zero else -1,
            "text": text,
        }
