"""left4me-builderctl in pipes and on terminals: the log's order with stdout
and stderr in one pipe, progress markers beside the progress line, the list
commands for scripts, ReadLog's pages, and the clients' call timeout."""

import json
import shlex
import time

from test_cli import CTL, ctl, granted, on_terminal  # noqa: F401 (granted is a fixture)

JOB_IFACE = "org.left4me.Builder.Job"
JOB_PATH = "/org/left4me/Builder/job/"
STDERR_MARK = "\x1e"
PAGE = 65536  # ReadLog's lines per page


def read_log(svc, job, from_line=0, max_lines=2**32 - 1):
    answer = svc.call("ReadLog", from_line, max_lines, path=JOB_PATH + str(job), iface=JOB_IFACE, signature="(tu)")
    assert "reply" in answer, answer
    return answer["reply"]


def whole_log(svc, job):
    """Every line of JOB's log as ReadLog replays it, page by page."""
    lines, next_line = [], 0
    while True:
        next_line, page = read_log(svc, job, next_line)
        if not page:
            return lines
        lines += page


def last_job(svc, overlay):
    jobs = json.loads(ctl(svc, "--json", "jobs", "--all").stdout)
    return max(j["Id"] for j in jobs if j["Overlay"] == overlay)


def test_stdout_and_stderr_in_one_pipe_keep_the_logs_order(granted):
    """`build ... 2>&1 | tee build.log` and `log JOB 2>&1` give the lines in
    the order of the log, however the two streams alternate."""
    granted.overlay("cli-order")
    script = 'for i in $(seq 1 1000); do echo "out $i"; echo "err $i" >&2; done\n'
    build = granted.c.run(["sh", "-c", f"{CTL} build cli-order - 2>&1 | cat"], user="bob", input=script)
    job = last_job(granted, "cli-order")
    # The log, without the stderr mark, is what one pipe must show.
    log = [line.removeprefix(STDERR_MARK) for line in whole_log(granted, job)]
    assert len(log) == 2000 and sum(line.startswith("err ") for line in log) == 1000
    assert build.stdout.splitlines() == log
    replay = granted.c.run(["sh", "-c", f"{CTL} log {job} 2>&1 | cat"], user="bob")
    assert replay.stdout.splitlines() == log


def test_progress_markers_become_the_progress_line_on_a_terminal_and_stay_in_the_log(granted):
    granted.overlay("cli-markers")
    script = "echo start\nleft4me-progress 30 fetching\necho middle\nleft4me-progress - waiting\necho end\n"
    command = f"printf %s {shlex.quote(script)} > /tmp/m && exec {CTL} build cli-markers /tmp/m"
    shown = on_terminal(granted, command)
    assert shown["status"] == 0, shown
    out = shown["output"]
    assert "[ 30%] fetching" in out and "[ ... ] waiting" in out
    assert "::left4me-progress::" not in out
    assert "start\r\n" in out and "middle\r\n" in out and "end\r\n" in out
    job = last_job(granted, "cli-markers")
    markers = ["::left4me-progress:: 30 fetching", "::left4me-progress:: - waiting"]
    expected = ["start", markers[0], "middle", markers[1], "end"]
    # The log keeps them: to a pipe, on a terminal, and in --json.
    assert ctl(granted, "log", str(job)).stdout.splitlines() == expected
    on_tty = on_terminal(granted, f"exec {CTL} log {job}")
    assert all(f"{line}\r\n" in on_tty["output"] for line in expected), on_tty
    records = [json.loads(line) for line in ctl(granted, "--json", "log", str(job)).stdout.splitlines()]
    assert [(r["stream"], r["text"]) for r in records] == [("stdout", line) for line in expected]
    # -q: no progress line, so the markers show as the lines they are.
    quiet = on_terminal(granted, f"exec {CTL} -q build cli-markers /tmp/m")
    assert quiet["status"] == 0 and "[ 30%]" not in quiet["output"], quiet
    assert f"{markers[0]}\r\n" in quiet["output"]


def test_list_commands_print_no_legend_when_asked(granted):
    granted.overlay("cli-legend")
    job = ctl(granted, "build", "cli-legend", "-", "--no-follow", input="true\n").stdout.strip()
    granted.wait_for(lambda: json.loads(ctl(granted, "--json", "status", job).stdout)["State"] == "succeeded",
                     what="the build to end")
    with_legend = ctl(granted, "jobs", "--all").stdout.splitlines()
    without = ctl(granted, "jobs", "--all", "--no-legend").stdout.splitlines()
    assert with_legend[0].split()[0] == "ID" and without == with_legend[1:]
    assert any(row.split()[0] == job for row in without)
    assert ctl(granted, "--no-legend", "mounts", user="root").stdout == ""
    assert ctl(granted, "mounts", user="root").stdout.split() == ["INSTANCE", "WHERE", "MODE", "PERSISTENT", "LAYERS"]


def test_readlog_answers_more_than_a_page_with_a_full_page(granted):
    """max_lines above the cap is a request for a full page, not an error;
    a client reads on from next_line until a page comes back empty."""
    granted.overlay("cli-pages")
    run = ctl(granted, "build", "cli-pages", "-", input="seq 0 69999\n")
    assert run.returncode == 0 and len(run.stdout.splitlines()) == 70000
    job = last_job(granted, "cli-pages")
    next_line, page = read_log(granted, job, 0, 2**32 - 1)
    assert (next_line, len(page)) == (PAGE, PAGE) and page[0] == "0" and page[-1] == str(PAGE - 1)
    next_line, page = read_log(granted, job, next_line, PAGE + 1)
    assert next_line == 70000 and page == [str(i) for i in range(PAGE, 70000)]
    assert read_log(granted, job, next_line) == [70000, []]


def test_a_call_longer_than_sd_bus_s_default_timeout_is_waited_for(svc):
    """The clients' timeout policy reaches the CLI: a Mount that waits for
    systemd longer than sd-bus's default timeout still succeeds. sd-bus's
    default is scaled down here with SYSTEMD_BUS_TIMEOUT, which a CLI that
    kept the default would obey, and systemd is made to take 3 s."""
    layer = "/var/lib/left4me/overlays/cli-slow-layer"
    svc.c.sh(f"rm -rf {layer} && mkdir -p {layer}")
    unit = "var-lib-left4me-runtime-cli\\x2dslow-merged.mount"
    svc.c.write("/etc/systemd/system/left4me-test-slow.service",
                "[Service]\nType=oneshot\nExecStart=/bin/sleep 3\n")
    svc.c.write(f"/etc/systemd/system/{unit}.d/test-slow.conf",
                "[Unit]\nWants=left4me-test-slow.service\nAfter=left4me-test-slow.service\n")
    try:
        svc.c.run(["systemctl", "daemon-reload"])
        # Without the policy, a 1 s timeout is what the call gets.
        short = svc.c.run(["busctl", "--timeout=1", "call", "org.left4me.Builder", "/org/left4me/Builder",
                           "org.left4me.Builder", "Mount", "sasa{sv}", "cli-slow", "1", layer, "0"], check=False)
        assert short.returncode != 0 and "timed out" in short.stderr.lower(), short
        svc.wait_for(lambda: svc.c.run(["systemctl", "is-active", unit], check=False).stdout.strip() == "active",
                     what="the slow mount to finish")
        assert ctl(svc, "unmount", "cli-slow", user="root").returncode == 0
        start = time.monotonic()
        run = svc.c.run([CTL, "mount", "cli-slow", layer], env={"SYSTEMD_BUS_TIMEOUT": "1"}, check=False)
        assert run.returncode == 0 and run.stdout.strip().endswith("/cli-slow/merged"), run
        assert time.monotonic() - start > 2.5  # it did wait for systemd
    finally:
        ctl(svc, "unmount", "cli-slow", user="root")
        svc.c.sh(f"rm -rf /etc/systemd/system/left4me-test-slow.service '/etc/systemd/system/{unit}.d'; "
                 "systemctl daemon-reload")
