"""Unit tests of tools/bench's pure functions: parsing wrk's output (the BENCH
lines of bench/status.lua and bench/summary.lua), Ansible's PLAY RECAP and
profile_tasks output, a tools/test log, and the table the bench prints. The
samples are shaped like the real outputs; the expected rows are those of the
README's benchmark runs."""

import importlib.machinery
import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "tools/bench"
_loader = importlib.machinery.SourceFileLoader("bench", str(_PATH))
_spec = importlib.util.spec_from_loader("bench", _loader)
bench = importlib.util.module_from_spec(_spec)
_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no tools/__pycache__
try:
    _loader.exec_module(bench)
finally:
    sys.dont_write_bytecode = _bytecode

STARTED = int(datetime(2026, 12, 3, 17, 12, 31, tzinfo=UTC).timestamp())

EMPTY = ""  # (status.lua ends an empty list with the space after its name)

# wrk -t2 -c16 --latency -s status.lua during a deploy (wrk's own report, then status.lua's lines).
WRK_DEPLOY = f"""Running 10m test @ https://127.0.0.1/healthz
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    13.02ms    9.71ms 412.33ms   93.12%
    Req/Sec   560.21    101.40     0.88k    71.00%
  Latency Distribution
     50%   12.10ms
     75%   15.02ms
     90%   19.88ms
     99%   45.20ms
  81554 requests in 1.24m, 21.85MB read
  Socket errors: connect 0, read 0, write 0, timeout 16
Requests/sec:   1098.93
Transfer/sec:    301.34KB
BENCH requests=81554 duration_us=74212000 bad_status=0 connect=0 read=0 write=0 timeout=16 p50_us=12100 p99_us=45200 non2xx=0 started={STARTED}
BENCH_STATUS 200:81554
BENCH_NON2XX_BY_SECOND {EMPTY}
BENCH_MEDIAN_PER_SECOND 1101
BENCH_SLOW_SECONDS 61:0,62:0,63:0,64:0,65:21
BENCH_ZERO_SECONDS count=4 61,62,63,64
"""

# The same script with no stall and a 502 burst (restart of socket+service).
WRK_RESTART = f"""Running 20s test @ https://127.0.0.1/healthz
BENCH requests=32170 duration_us=20066000 bad_status=38 connect=0 read=0 write=0 timeout=0 p50_us=8700 p99_us=1062000 non2xx=38 started=1764781971
BENCH_STATUS 200:32132,502:38
BENCH_NON2XX_BY_SECOND 5:38
BENCH_MEDIAN_PER_SECOND 1603
BENCH_SLOW_SECONDS {EMPTY}
BENCH_ZERO_SECONDS count=0 {EMPTY}
ACTION 'systemctl restart wallet-gunicorn.socket wallet-gunicorn.service' started=1764781976.101200000 ended=1764781978.181900000 at +5 s
"""

# summary.lua (throughput runs): one line, no non2xx, no per-second figures.
WRK_THROUGHPUT = """Running 15s test @ https://127.0.0.1/static/css/base.css
  140925 requests in 15.06s, 1.10GB read
BENCH requests=140925 duration_us=15057000 bad_status=0 connect=0 read=0 write=0 timeout=0 p50_us=1500 p99_us=6400
"""


def _stamp(offset):
    """A profile_tasks time line, OFFSET seconds after the wrk run started."""
    moment = datetime.fromtimestamp(STARTED + offset, tz=UTC)
    return moment.strftime("%A %d %B %Y  %H:%M:%S +0000") + " (0:00:01.234)       0:00:55.000 **********"


DEPLOY_LOG = "\n".join([
    "PLAY [Deploy a release] ********************************************************",
    "",
    "TASK [application : Switch the current release] ********************************",
    _stamp(58),
    "changed: [lab1]",
    "",
    "TASK [application : Restart the services together] *****************************",
    _stamp(60),
    "changed: [lab1]",
    "",
    "RUNNING HANDLER [application : Wait until Gunicorn is ready (database and Redis reachable)] ***",
    _stamp(65),
    "ok: [lab1]",
    "",
    "PLAY RECAP *********************************************************************",
    "lab1                       : ok=66   changed=11   unreachable=0    failed=0    skipped=16   rescued=0    ignored=0   ",
    "",
])

NOOP_PROFILE_LOG = f"""PLAY RECAP *********************************************************************
lab1                       : ok=221  changed=0    unreachable=0    failed=0    skipped=83   rescued=0    ignored=0   {EMPTY}

TASKS RECAP ********************************************************************
Thursday 03 December 2026  17:20:01 +0000 (0:00:00.101)       0:00:47.600 *****
===============================================================================
common : Install the base packages ------------------------------------- 2.41s
application : Build the release ---------------------------------------- 1.80s
ufw : Read the rules once ---------------------------------------------- 0.52s

ROLES RECAP ********************************************************************
Thursday 03 December 2026  17:20:01 +0000 (0:00:00.101)       0:00:47.600 *****
===============================================================================
application ------------------------------------------------------------ 12.30s
common ------------------------------------------------------------------ 9.10s
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
total ------------------------------------------------------------------ 47.60s

Playbook run took 0 days, 0 hours, 0 minutes, 47 seconds
"""


def test_wrk_columns_of_a_status_run():
    assert bench.wrk_columns(WRK_DEPLOY) == ["81554", "1099", "0", "0/0/0/16", "12.1ms", "45.2ms", "4"]


def test_wrk_columns_of_a_summary_run_take_non2xx_from_bad_status_and_leave_zero_s_empty():
    requests, rate, non2xx, sock, p50, p99, zero = bench.wrk_columns(WRK_THROUGHPUT)
    assert (requests, rate, non2xx, sock, p50, p99, zero) == ("140925", "9359", "0", "0/0/0/0", "1.5ms", "6.4ms", "")


def test_wrk_columns_without_a_bench_line_fail():
    with pytest.raises(ValueError):
        bench.wrk_columns("unable to connect to 127.0.0.1:443 Connection refused\n")


def test_the_last_bench_line_counts_and_kv_reads_digits_only():
    text = "BENCH requests=1 duration_us=1000000\nBENCH_STATUS 200:1\nBENCH requests=7 duration_us=2000000\n"
    line = bench.bench_line(text)
    assert line == "BENCH requests=7 duration_us=2000000"
    assert bench.kv(line, "requests") == "7"
    assert bench.kv(line, "missing") == ""
    assert bench.kv("BENCH x=1 thread=5 read=3", "read") == "3"


def test_markers_keep_the_raw_value():
    assert bench.markers(WRK_DEPLOY, "BENCH_ZERO_SECONDS") == "count=4 61,62,63,64"
    assert bench.markers(WRK_RESTART, "BENCH_ZERO_SECONDS") == "count=0 "
    assert bench.markers(WRK_DEPLOY, "BENCH_NON2XX_BY_SECOND") == ""
    assert bench.markers(WRK_THROUGHPUT, "BENCH_STATUS") is None


def test_rows_are_formatted_as_the_readme_tables():
    run = WRK_RESTART
    for before, after in (("requests=32170", "requests=33659"), ("duration_us=20066000", "duration_us=20060000"),
                          ("bad_status=38", "bad_status=0"), ("non2xx=38", "non2xx=0"), ("timeout=0", "timeout=16"),
                          ("p50_us=8700", "p50_us=7900"), ("p99_us=1062000", "p99_us=21000"), ("count=0 ", "count=2 6,7")):
        run = run.replace(before, after)
    row = bench.format_row("4 wrk /healthz (nginx): restart service only", "20.0s", "-", *bench.wrk_columns(run), "7.83/7.41")
    assert row == ("4 wrk /healthz (nginx): restart service only                20.0s       -     33659     1678        0"
                   "        0/0/0/16    7.9ms   21.0ms      2  7.83/7.41")
    assert bench.format_row("3 wrk /healthz (nginx) during deploy: the deploy.yml run itself", "64.0s", "11",
                            "-", "-", "-", "-", "-", "-", "-", "") == (
        "3 wrk /healthz (nginx) during deploy: the deploy.yml run itself    64.0s      11         -        -        -"
        "               -        -        -      -           ")
    assert bench.format_row(*bench.COLUMNS) == (
        "measurement                                                  wall changed  requests    req/s  non-2xx"
        "    sock c/r/w/t      p50      p99 zero-s  load1 a/z")
    assert bench.format_row("5 throughput static file via nginx (https)", "15.0s", "-",
                            *bench.wrk_columns(WRK_THROUGHPUT), "7.18/6.47") == (
        "5 throughput static file via nginx (https)                  15.0s       -    140925     9359        0"
        "         0/0/0/0    1.5ms    6.4ms         7.18/6.47")


def test_report_has_header_table_and_notes():
    report = bench.format_report(["tools/bench on vm"], ["row 1"], ["a note"])
    assert report.splitlines() == ["tools/bench on vm", "", bench.format_row(*bench.COLUMNS), "row 1", "", "Notes:", "  a note"]
    assert "Notes:" not in bench.format_report([], ["row 1"], [])


def test_secs():
    assert bench.secs("1764781171.25", 1764781253.85) == "82.6s"
    assert bench.secs(10, 10) == "0.0s"


def test_recap_line_and_changed():
    recap = bench.recap_line(DEPLOY_LOG)
    assert recap.startswith("lab1 ") and bench.recap_changed(recap) == "11"
    assert bench.squeeze(recap) == "lab1 : ok=66 changed=11 unreachable=0 failed=0 skipped=16 rescued=0 ignored=0 "
    assert bench.recap_line("PLAY RECAP ****\n") == "" and bench.recap_changed("") == ""
    stamped = "1764781171.000001 PLAY RECAP ***\n1764781171.000002 lab1                       : ok=310  changed=108  failed=0\n"
    assert bench.recap_changed(bench.recap_line(stamped, stamped=True)) == "108"
    assert bench.recap_line(stamped) == ""


def test_fresh_phases_of_a_stamped_lab_up():
    log = "\n".join([
        "1764781000.100000 \x1b[1m==> Creating the tool venv in /work/main/.venv\x1b[0m",
        "1764781000.500000 \x1b[1m==> Starting lab host ddeploy-lab1 (Debian trixie)\x1b[0m",
        "1764781005.100000 ",
        "1764781005.100001 PLAY [Preflight] ****",
        "1764781200.000000 PLAY [Common] ****",
        "1764781282.000000 PLAY RECAP ****",
    ])
    assert bench.fresh_phases(log) == ("1764781000.500000", "1764781005.100001")
    assert bench.fresh_phases("1764781000.1 nothing here\n") == (None, None)


def test_noop_median_is_the_middle_of_three():
    assert bench.noop_median(["53.0", "47.3", "47.9"]) == "47.9"
    assert bench.noop_median(["100.0", "9.5", "47.9"]) == "47.9"  # numerically, not as text


def test_profile_report_and_top_lines():
    report = bench.profile_report(NOOP_PROFILE_LOG)
    assert report.splitlines() == [
        "# Slowest 30 tasks of a no-op site.yml (profile_tasks), then roles (profile_roles)",
        "common : Install the base packages ------------------------------------- 2.41s",
        "application : Build the release ---------------------------------------- 1.80s",
        "ufw : Read the rules once ---------------------------------------------- 0.52s",
        "",
        "# Roles",
        "application ------------------------------------------------------------ 12.30s",
        "common ------------------------------------------------------------------ 9.10s",
        "total ------------------------------------------------------------------ 47.60s",  # as the shell version had it
    ]
    assert bench.profile_top(report) == [
        "common : Install the base packages ... 2.41s",
        "application : Build the release ... 1.80s",
        "ufw : Read the rules once ... 0.52s",
        "",
        "application ... 12.30s",
        "common ... 9.10s",
        "total ... 47.60s",
    ]
    assert bench.profile_top(report, 2) == bench.profile_top(report)[:2]


def test_task_starts_of_a_profile_tasks_log():
    assert bench.task_starts(DEPLOY_LOG) == [
        (STARTED + 58, "application : Switch the current release"),
        (STARTED + 60, "application : Restart the services together"),
        (STARTED + 65, "application : Wait until Gunicorn is ready (database and Redis reachable)"),
    ]


def test_stalls_are_grouped_and_named_after_the_running_task():
    assert bench.stalls(WRK_DEPLOY, DEPLOY_LOG) == (
        "stalls (seconds with < 1/5 of the median 1101 responses/s; s:responses): "
        '+61..+64s (0 responses) during "application : Restart the services together"; '
        '+65s (21 responses) during "application : Wait until Gunicorn is ready (database and Redis reachable)"')


def test_stalls_without_a_playbook_log_and_without_stalls():
    assert bench.stalls(WRK_DEPLOY) == (
        "stalls (seconds with < 1/5 of the median 1101 responses/s; s:responses): +61..+65s (21 responses)")
    assert bench.stalls(WRK_RESTART) == "no stall (every second had >= 1/5 of the median 1603 responses/s)"
    assert bench.stalls(WRK_THROUGHPUT) == "no stall (every second had >= 1/5 of the median ? responses/s)"


def test_stall_ranges_split_on_gaps_and_keep_a_first_slow_second_at_plus_one():
    assert bench.stall_ranges("0:22,1:3,5:0,6:0,9:1", STARTED, []) == "+0..+1s (25 responses); +5..+6s (0 responses); +9s (1 responses)"
    assert bench.stall_ranges("1:0", STARTED, []) == "+1s (0 responses)"


def test_action_took():
    assert bench.action_took(WRK_RESTART) == "2.08 s at +5 s"
    assert bench.action_took(WRK_DEPLOY) == ""


def test_test_steps_of_a_tools_test_log():
    log = "\n".join([
        "\x1b[1m==> [yamllint] yamllint --strict .\x1b[0m",
        "\x1b[1m==> [yamllint] passed (2 s)\x1b[0m",
        "\x1b[1m==> [ansible-lint] passed (56 s)\x1b[0m",
        "\x1b[1m==> [molecule-edge-trixie] FAILED (371 s)\x1b[0m",
        "yamllint                         passed       2 s",
        "3 passed, 1 failed",
    ])
    assert bench.test_steps(log) == [("yamllint", "2", "passed"), ("ansible-lint", "56", "passed"),
                                     ("molecule-edge-trixie", "371", "FAILED")]


def test_static_alias_and_url():
    config = "\n".join([
        "# configuration file /etc/nginx/sites-enabled/wallet.conf:",
        "server {",
        "    location /media/ {",
        "        alias /srv/wallet/media/;",
        "    }",
        "    location ^~ /static/ {",
        "        expires 1y;",
        "        alias /srv/wallet/current/static/;",
        "    }",
    ])
    root = bench.static_alias(config)
    assert root == "/srv/wallet/current/static/"
    assert bench.static_url(root, "/srv/wallet/current/static/css/base.3f2a.css") == "https://127.0.0.1/static/css/base.3f2a.css"
    assert bench.static_url("/srv/wallet/current/static", "/srv/wallet/current/static/css/base.css") == "https://127.0.0.1/static/css/base.css"
    assert bench.static_alias("server {\n    alias /srv/other/;\n}\n") == ""


def test_machine_figures():
    free = "               total        used        free      shared  buff/cache   available\nMem:            23Gi       3.1Gi        18Gi\n"
    assert bench.memory_total(free) == "23Gi"
    assert bench.ansible_core_version("ansible [core 2.19.14]\n  config file = /work/main/ansible.cfg\n") == "2.19.14"


def test_lab_fact_files(tmp_path):
    for name in ("s1_lab1", "lab1", "s1_app1", "lab10"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in bench.lab_fact_files(tmp_path)] == ["lab1", "s1_lab1"]
    assert bench.lab_fact_files(tmp_path / "absent") == []


def test_usage_and_bad_arguments(capsys):
    with pytest.raises(SystemExit) as done:
        bench.parse_args(["--help"])
    assert done.value.code == 0
    usage = " ".join(capsys.readouterr().out.split("\n\n")[0].split())
    assert usage == "usage: tools/bench [-h] [--skip-fresh] [--skip-noop] [--test-log FILE] [--security-only] [--artifact-only]"
    with pytest.raises(SystemExit) as done:
        bench.parse_args(["--bogus"])
    assert done.value.code not in (0, None)
    with pytest.raises(SystemExit) as done:
        bench.parse_args(["--test-log", "/nonexistent/test.log"])
    assert "no such file" in str(done.value.code)


def test_options(tmp_path):
    log = tmp_path / "test.log"
    log.write_text("")
    args = bench.parse_args(["--skip-fresh", "--skip-noop", "--test-log", str(log)])
    assert (args.skip_fresh, args.skip_noop, args.test_log_path) == (True, True, str(log))
    args = bench.parse_args([])
    assert (args.skip_fresh, args.skip_noop, args.test_log) == (False, False, None)


def test_security_only_skips_the_other_rows():
    args = bench.parse_args(["--security-only"])
    assert (args.security_only, args.skip_fresh, args.skip_noop) == (True, True, True)


def test_artifact_only_skips_the_other_rows():
    args = bench.parse_args(["--artifact-only"])
    assert (args.artifact_only, args.security_only, args.skip_fresh, args.skip_noop) == (True, False, True, True)


# The end of `lynis audit system --quick --no-colors` (Lynis 3.1).
LYNIS = """
  -[ Lynis 3.1.4 Results ]-

  Warnings (1):
  ----------------------------
  ! PostgreSQL configuration file /etc/postgresql/17/main/start.conf is world readable and might leak sensitive details [DBS-1828]
    - Details  : /etc/postgresql/17/main/start.conf
      https://cisofy.com/lynis/controls/DBS-1828/

  Suggestions (2):
  ----------------------------
  * This release is more than 4 months old. Check the website or GitHub to see if there is an update available. [LYNIS]
      https://cisofy.com/lynis/controls/LYNIS/

  * Consider hardening SSH configuration [SSH-7408]
    - Details  : AllowTcpForwarding (set LOCAL to NO)
      https://cisofy.com/lynis/controls/SSH-7408/

  Follow-up:
  ----------------------------
  Lynis security scan details:

  Hardening index : 86 [#################   ]
  Tests performed : 262
"""


def test_lynis_index_and_findings():
    assert bench.lynis_index(LYNIS) == 86
    assert bench.lynis_index("no report") is None
    warnings, suggestions = bench.lynis_findings(LYNIS)
    assert warnings == ["DBS-1828 PostgreSQL configuration file /etc/postgresql/17/main/start.conf is world "
                        "readable and might leak sensitive details"]
    assert suggestions == [
        "LYNIS This release is more than 4 months old. Check the website or GitHub to see if there is an update available.",
        "SSH-7408 Consider hardening SSH configuration",
    ]


def test_unit_exposures():
    text = ("→ Overall exposure level for postgresql@17-main.service: 1.3 OK :-)\n"
            "→ Overall exposure level for ssh.service: 9.6 UNSAFE 😨\n")
    assert bench.unit_exposures(text) == [("postgresql@17-main.service", 1.3, "OK"), ("ssh.service", 9.6, "UNSAFE")]
