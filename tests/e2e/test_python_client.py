"""The Python client, left4me_builder, against the real daemon.

Each test runs a small driver with the container's /usr/bin/python3, which
imports the package as `meson install` put it there, and prints one JSON
object: the client code runs exactly where a deployment runs it."""

import hashlib
import json
import os
import queue
import shlex
import subprocess
import textwrap
import threading
import time

import pytest

from conftest import PYTHON
from lossy_bus import assert_every_line_once_through_the_gap, follow_through_a_gap

RULES = "/usr/share/doc/left4me-builderd/examples/50-left4me-builder.rules"
EXAMPLES = "/usr/share/doc/left4me-builderd/examples"
L4M = "/var/lib/left4me"
PROGRESS_CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "progress_cases.json")

PRELUDE = """\
import json, sys, threading, time
from gi.repository import GLib
import left4me_builder
from left4me_builder import *

def attempt(call):
    try:
        call()
    except BuilderError as error:
        return [type(error).__name__, error.name, str(error)]
    return None

def local_error(call):
    try:
        call()
    except Exception as error:
        return [type(error).__name__, str(error)]
    return None
"""


def py(svc, code, user=None, timeout=120):
    """Runs CODE after PRELUDE in the container; returns what it printed as JSON."""
    out = svc.c.run([PYTHON, "-c", PRELUDE + textwrap.dedent(code)], user=user, timeout=timeout).stdout
    return json.loads(out.splitlines()[-1])


@pytest.fixture
def bob(svc):
    """bob (group left4me) may build, as the web app's job worker would, through
    the shipped example rules."""
    with svc.polkit_reload():
        svc.c.run(["cp", RULES, "/etc/polkit-1/rules.d/50-test-left4me.rules"])
    return "bob"


@pytest.mark.quick
def test_the_package_is_installed_for_debians_python(svc):
    out = py(svc, "print(json.dumps(left4me_builder.__file__))")
    assert out == "/usr/lib/python3/dist-packages/left4me_builder/__init__.py"


@pytest.mark.quick
def test_lines_of_a_100000_line_build_are_complete_in_order_and_replayed_after_the_end(svc, bob):
    svc.overlay("big")
    out = py(svc, """
        import hashlib
        def digest(lines):
            h, count, contiguous = hashlib.sha256(), 0, True
            for line in lines:
                contiguous = contiguous and line.number == count and line.stream == "stdout"
                count += 1
                h.update(line.text.encode() + b"\\n")
            return [count, contiguous, h.hexdigest()]
        builder = Builder()
        started = time.monotonic()
        job = builder.start_build("big", "seq 0 99999")
        live = digest(job.lines())
        live_seconds = time.monotonic() - started
        result = job.wait(timeout=10)
        started = time.monotonic()
        late = digest(job.lines())
        late_seconds = time.monotonic() - started
        tail = list(job.lines(from_line=99998))
        print(json.dumps({"live": live, "late": late, "tail": tail, "result": [result.state, result.exit_status],
                          "live_seconds": live_seconds, "late_seconds": late_seconds}))
        """, user=bob)
    expected = hashlib.sha256("".join(f"{i}\n" for i in range(100000)).encode()).hexdigest()
    assert out["live"] == [100000, True, expected]
    assert out["late"] == [100000, True, expected]
    assert out["tail"] == [[99998, "stdout", "99998"], [99999, "stdout", "99999"]]
    assert out["result"] == ["succeeded", 0]
    print(f"\n100000 lines: start_build + lines() {out['live_seconds']:.3f} s "
          f"({100000 / out['live_seconds']:,.0f} lines/s); replay after the end {out['late_seconds']:.3f} s "
          f"({100000 / out['late_seconds']:,.0f} lines/s)")


@pytest.mark.quick
def test_lines_reads_the_lines_of_lost_signals_from_the_stored_log(svc):
    """Job.lines() (through batches()) on a connection that misses a range
    of Log signals: every line arrives once, numbered in order, the gap read
    with ReadLog."""
    driver = textwrap.dedent("""
        import sys
        from left4me_builder import Builder
        for expected, line in enumerate(Builder().job(int(sys.argv[1])).lines()):
            if line.number != expected:
                sys.exit(f"line {line.number} came where {expected} was due")
            print(line.text)
        """)
    report = follow_through_a_gap(svc, "py-gap", 200000, [PYTHON, "-c", driver, "{job}"])
    assert_every_line_once_through_the_gap(report, 200000)


def test_lines_joined_mid_build_miss_nothing_and_two_threads_do_not_interfere(svc, bob):
    for name in ("one", "two", "three"):
        svc.overlay(name)
    out = py(svc, """
        # Output spread over about a second, so that every reader joins while
        # lines are still coming: part replay, part live signals.
        script = "for i in $(seq 0 19999); do echo $i; [ $((i % 2000)) = 0 ] && sleep 0.1; done; true"
        shared = Builder()
        results = {}
        def follow(name, builder):
            job = builder.start_build(name, script)
            while not job.read_log(0, 1)[1]:  # join once some lines are out
                time.sleep(0.05)
            results[name] = [line.number == int(line.text) for line in job.lines()].count(True)
        threads = [threading.Thread(target=follow, args=("one", Builder())),
                   threading.Thread(target=follow, args=("two", shared)),
                   threading.Thread(target=follow, args=("three", shared))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        print(json.dumps(results))
        """, user=bob)
    assert out == {"one": 20000, "two": 20000, "three": 20000}


def test_follow_cancels_when_should_cancel_says_so_even_while_no_line_comes(svc, bob):
    svc.overlay("demo")
    out = py(svc, """
        builder = Builder()
        job = builder.start_build("demo", "echo started; sleep 600")
        lines, polls = [], []
        def should_cancel():
            polls.append(time.monotonic())
            return time.monotonic() - begun > 1.0
        begun = time.monotonic()
        result = job.follow(lines.append, should_cancel=should_cancel, poll_interval=0.2)
        print(json.dumps({"result": [result.state, result.result, result.exit_status], "lines": lines,
                          "polls": len(polls), "seconds": time.monotonic() - begun, "state": job.state}))
        """, user=bob)
    assert out["result"][0] == "cancelled"
    assert out["state"] == "cancelled"
    assert out["lines"] == ["started"]
    assert out["polls"] >= 4  # about every 0.2 s through a second of silence
    assert out["seconds"] < 5


@pytest.mark.quick
def test_cancel_and_wait(svc, bob):
    svc.overlay("demo")
    out = py(svc, """
        builder = Builder()
        job = builder.start_build("demo", "sleep 600")
        timed_out = False
        try:
            job.wait(timeout=0.5)
        except TimeoutError:
            timed_out = True
        begun = time.monotonic()
        job.cancel()
        result = job.wait(timeout=10)
        print(json.dumps({"timed_out": timed_out, "result": [result.state, result.exit_status],
                          "seconds": time.monotonic() - begun, "again": attempt(job.cancel),
                          "listed": [j.path for j in builder.jobs()], "path": job.path, "id": job.id,
                          "by_id": builder.job(job.id).state}))
        """, user=bob)
    assert out["timed_out"]
    assert out["result"][0] == "cancelled"
    assert out["seconds"] < 5
    assert out["again"] is None  # cancelling an ended job changes nothing
    assert out["path"] in out["listed"] and out["path"].endswith(f"/{out['id']}")
    assert out["by_id"] == "cancelled"


@pytest.mark.quick
def test_options_and_properties_arrive_with_their_types(svc, bob):
    svc.overlay("demo")
    out = py(svc, """
        builder = Builder()
        job = builder.start_build("demo", 'echo "$MAP"; left4me-progress 42 Downloading maps',
                                  memory_max=256 << 20, cpu_quota=50, tasks_max=64, timeout_sec=60,
                                  network="none", environment={"MAP": "c1m1_hotel"}, skip_if_unchanged=False)
        lines = [line.text for line in job.lines()]
        p = job.properties()
        print(json.dumps({"lines": lines, "state": job.state, "result": job.result, "exit": job.exit_status,
                          "overlay": job.overlay, "unit": job.unit, "owner": job.owner, "hash": job.build_hash,
                          "progress": job.progress, "status": job.status_text, "all": p["BuildHash"],
                          "times": job.finished_at >= job.created_at > 0}))
        """, user=bob)
    assert out["lines"][0] == "c1m1_hotel"
    assert (out["state"], out["result"], out["exit"]) == ("succeeded", "success", 0)
    assert out["overlay"] == "demo" and out["unit"].startswith("left4me-build@")
    assert out["owner"] == int(svc.c.run(["id", "-u", "bob"]).stdout)
    assert len(out["hash"]) == 64 and out["all"] == out["hash"]
    assert out["progress"] == pytest.approx(0.42) and out["status"] == "Downloading maps"
    assert out["times"]


@pytest.mark.quick
def test_each_service_error_raises_its_own_class_with_the_services_message(svc, bob):
    svc.overlay("demo")
    with svc.polkit_reload():
        svc.c.write("/etc/polkit-1/rules.d/40-test-challenge.rules",
                    'polkit.addRule(function(action, subject) {\n'
                    '  if (action.id == "org.left4me.builder.mount" && subject.user == "bob")\n'
                    '    return polkit.Result.AUTH_ADMIN;\n});\n')
    as_bob = py(svc, """
        builder = Builder()
        layers = ["/var/lib/left4me/overlays/demo"]
        print(json.dumps({
            "overlay": attempt(lambda: builder.start_build("../etc", "true")),
            "option": attempt(lambda: builder.call("/org/left4me/Builder", "org.left4me.Builder", "StartBuild",
                                                   "(ssa{sv})", ("demo", "true", {"memory": GLib.Variant("b", True)}))),
            "no_job": attempt(lambda: builder.cancel("/org/left4me/Builder/job/999999")),
            "no_job_object": attempt(lambda: builder.job(999999).state),
            "challenge": attempt(lambda: builder.mount("inst1", layers)),
            "interactive": attempt(lambda: Builder(interactive=True).mount("inst1", layers)),
            "no_bus": attempt(lambda: Builder("unix:path=/run/no-such-bus")),
            "misspelt": local_error(lambda: builder.start_build("demo", "true", memory=1 << 30)),
        }))
        """, user=bob)
    assert as_bob["overlay"][:2] == ["InvalidArgument", "org.left4me.Builder.Error.InvalidArgument"]
    assert "overlay" in as_bob["overlay"][2] and not as_bob["overlay"][2].startswith("GDBus")
    assert as_bob["option"][0] == "InvalidArgument" and "not a known option" in as_bob["option"][2]
    assert as_bob["no_job"][0] == "NoSuchJob" and "no job" in as_bob["no_job"][2]
    assert as_bob["no_job_object"][0] == "NoSuchJob"
    assert as_bob["challenge"][0] == "InteractiveAuthorizationRequired"
    assert "allow-interactive-authorization" in as_bob["challenge"][2]
    assert as_bob["interactive"][0] == "NotAuthorized"  # with the flag polkit looks for an agent: none here
    assert as_bob["no_bus"][0] == "Disconnected"
    assert as_bob["misspelt"][0] == "TypeError" and "memory" in as_bob["misspelt"][1]
    as_alice = py(svc, """print(json.dumps(attempt(lambda: Builder().start_build("demo", "true"))))""", user="alice")
    assert as_alice[:2] == ["NotAuthorized", "org.left4me.Builder.Error.NotAuthorized"]
    assert "org.left4me.builder.build" in as_alice[2]
    as_root = py(svc, """
        builder = Builder()
        print(json.dumps({
            "not_mounted": attempt(lambda: builder.unmount("never-mounted")),
            "caps": attempt(lambda: builder.apply_caps("probe", "1.0", "bin/probe", ["cap_sys_admin"])),
        }))
        """)
    assert as_root["not_mounted"][0] == "NotMounted" and "never-mounted" in as_root["not_mounted"][2]
    assert as_root["caps"][0] == "CapabilityNotAllowed" and "cap_sys_admin" in as_root["caps"][2]


@pytest.fixture
def layers(svc):
    svc.c.sh(f"""set -e
        rm -rf {L4M}/installation/pybase {L4M}/overlays/pytop
        mkdir -p {L4M}/installation/pybase {L4M}/overlays/pytop
        echo base > {L4M}/installation/pybase/who; echo top > {L4M}/overlays/pytop/who
        chown -R left4me: {L4M}/installation/pybase {L4M}/overlays/pytop""")
    yield [f"{L4M}/overlays/pytop", f"{L4M}/installation/pybase"]
    svc.call("Unmount", "pyinst")


@pytest.mark.quick
def test_mount_and_unmount(svc, layers):
    out = py(svc, f"""
        builder = Builder()
        layers = {layers!r}
        where = builder.mount("pyinst", layers)
        who = open(where + "/who").read()
        again = builder.mount("pyinst", layers)
        other = attempt(lambda: builder.mount("pyinst", layers[1:], read_only=True))
        builder.unmount("pyinst")
        gone = attempt(lambda: builder.unmount("pyinst"))
        read_only = builder.mount("pyinst", layers, read_only=True)
        print(json.dumps({{"where": where, "who": who, "again": again, "other": other, "gone": gone,
                          "read_only": read_only}}))
        """)
    assert out["where"] == f"{L4M}/runtime/pyinst/merged"
    assert out["who"] == "top\n"
    assert out["again"] == out["where"]
    assert out["other"][0] == "AlreadyMounted"
    assert out["gone"][0] == "NotMounted"
    assert out["read_only"] == out["where"]
    assert " ro," in " " + svc.c.sh(f"findmnt --task 1 -n -o OPTIONS {out['where']}").stdout


@pytest.mark.quick
def test_apply_caps_sets_capabilities_and_activates(svc):
    addon = f"{L4M}/addons/pyprobe"
    svc.c.sh(f"rm -rf {addon} && mkdir -p {addon}/versions/1.0/bin && cp /usr/bin/true {addon}/versions/1.0/bin/probe "
             f"&& chmod 0755 {addon}/versions/1.0/bin/probe")
    py(svc, """
        Builder().apply_caps("pyprobe", "1.0", "bin/probe", ["cap_net_raw", "CAP_BPF"], activate=True)
        print("null")
        """)
    assert svc.c.run(["getcap", f"{addon}/versions/1.0/bin/probe"]).stdout.split()[1] == "cap_net_raw,cap_bpf=ep"
    assert svc.c.run(["readlink", f"{addon}/current"]).stdout.strip() == "versions/1.0"
    py(svc, """Builder().apply_caps("pyprobe", "1.0", "bin/probe", []); print("null")""")
    assert svc.c.run(["getcap", f"{addon}/versions/1.0/bin/probe"]).stdout.strip() == ""


# -- the web app's worker, restarts of the daemon, progress, polkit groups ----

class Background:
    """CODE after PRELUDE, run in the container as USER in the background.
    A thread reads its output, so that every wait for a line has a bound
    (a client that hangs fails the test instead of holding up the suite)."""

    def __init__(self, svc, code, user):
        self.svc = svc
        self.process = subprocess.Popen(
            ["nsenter", "-t", str(svc.c.pid), "-a", "--", "setpriv", f"--reuid={user}", f"--regid={user}",
             "--init-groups", "--reset-env", "--", PYTHON, "-c",
             PRELUDE + 'print("pid", __import__("os").getpid(), flush=True)\n' + textwrap.dedent(code)],
            stdout=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.pid = self.read_until("pid ").split()[1]  # inside the container, for stop()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def read_until(self, prefix, timeout=60):
        """The next line that starts with PREFIX."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._next(deadline, f"printed no {prefix!r} within {timeout} s")
            if line is None:
                raise AssertionError(f"the client ended without printing {prefix!r}")
            if line.startswith(prefix):
                return line

    def last_json(self, timeout=60):
        """The JSON of the client's last line, once it has ended."""
        last = None
        deadline = time.monotonic() + timeout
        while (line := self._next(deadline, f"did not end within {timeout} s")) is not None:
            last = line
        return json.loads(last)

    def _next(self, deadline, failure):
        try:
            return self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the client {failure}") from None

    def stop(self):
        if self.process.poll() is None:
            self.svc.c.run(["kill", "-9", self.pid], check=False)
            self.process.wait(timeout=10)


def main_pid(svc):
    return svc.c.run(["systemctl", "show", "-P", "MainPID", "left4me-builderd.service"]).stdout.strip()


def kill_9(svc):
    pid = main_pid(svc)
    assert pid != "0", "the daemon is not running"
    svc.c.run(["kill", "-9", pid])
    return pid


# Six seconds of output, 200,000 lines in 20 bursts: it runs through three
# restarts of the daemon. The follower hashes what it gets, checks the
# numbering, and says how far it is after each batch.
RESTARTS_SCRIPT = "for i in $(seq 0 19); do seq $((i * 10000)) $((i * 10000 + 9999)); sleep 0.3; done"
SEQ_200000_SHA = hashlib.sha256("".join(f"{i}\n" for i in range(200000)).encode()).hexdigest()
FOLLOWER = """
    import hashlib
    sha, count, contiguous = hashlib.sha256(), 0, True
    def take(batch):
        global count, contiguous
        contiguous = contiguous and batch[0].number == count
        sha.update("".join(line.text + "\\n" for line in batch).encode())
        count += len(batch)
        print("at", count, flush=True)
    job = Builder().start_build(OVERLAY, SCRIPT)
    print("job", job.id, flush=True)
"""


def follower(overlay, script, rest):
    """FOLLOWER's code for a build of SCRIPT over OVERLAY, then REST."""
    return FOLLOWER.replace("OVERLAY", repr(overlay)).replace("SCRIPT", repr(script)) + rest


def test_kill_9_three_times_during_a_200000_line_build_the_client_gets_seqs_output(svc, bob):
    svc.overlay("restarts")
    client = Background(svc, follower("restarts", RESTARTS_SCRIPT, """
    result = job.follow(on_lines=take)
    print(json.dumps({"count": count, "sha": sha.hexdigest(), "contiguous": contiguous,
                      "result": [result.state, result.exit_status]}))
    """), user=bob)
    try:
        job = client.read_until("job ").split()[1]
        killed = []
        for threshold in (30000, 70000, 110000):
            while int(client.read_until("at ").split()[1]) < threshold:
                pass
            killed.append(kill_9(svc))
            # The build goes on without the daemon (and systemd, or the
            # client's next call, brings the daemon back).
            assert svc.unit_property(f"left4me-build@{job}.service", "ActiveState") == "active"
            try:
                svc.wait_for(lambda: main_pid(svc) not in ("0", killed[-1]), timeout=15, what="the daemon to restart")
            except AssertionError as error:
                journal = svc.c.run(["journalctl", "--no-pager", "-n", "40", "-u", "left4me-builderd.service"],
                                    check=False).stdout
                raise AssertionError(f"{error}; its journal:\n{journal}") from None
        out = client.last_json()
    finally:
        client.stop()
    assert len(set(killed)) == 3
    assert out == {"count": 200000, "sha": SEQ_200000_SHA, "contiguous": True, "result": ["succeeded", 0]}


def test_when_the_daemon_does_not_come_back_following_ends_in_bounded_time_and_resumes_later(svc, bob):
    svc.overlay("masked")
    script = "seq 0 49999; sleep 4; seq 50000 99999"
    client = Background(svc, follower("masked", script, """
    try:
        job.follow(on_lines=take, restart_timeout=2)
    except ServiceLost as error:
        print("lost", json.dumps([error.next_line, count, error.job_id, isinstance(error, ConnectionError),
                                  str(error), repr(error.__cause__)]), flush=True)
        # Waits (30 s by default) for the daemon: bus activation brings it back once it may start.
        result = job.follow(on_lines=take, from_line=error.next_line)
        print(json.dumps({"count": count, "sha": sha.hexdigest(), "contiguous": contiguous,
                          "result": [result.state, result.exit_status]}))
    """), user=bob)
    try:
        client.read_until("job ")
        while int(client.read_until("at ").split()[1]) < 50000:
            pass
        svc.c.run(["systemctl", "mask", "--runtime", "left4me-builderd.service"])
        kill_9(svc)
        killed_at = time.monotonic()
        lost = json.loads(client.read_until("lost ").split(" ", 1)[1])
        lost_after = time.monotonic() - killed_at
        svc.c.run(["systemctl", "unmask", "--runtime", "left4me-builderd.service"])
        out = client.last_json()
    finally:
        svc.c.run(["systemctl", "unmask", "--runtime", "left4me-builderd.service"], check=False)
        client.stop()
    next_line, count, job_id, connection_error, message, cause = lost
    assert next_line == count == 50000 and job_id > 0 and connection_error
    assert "from line 50000" in message
    assert 1.5 < lost_after < 6, f"ServiceLost came {lost_after:.1f} s after the kill; restart_timeout was 2 s"
    print(f"\nServiceLost {lost_after:.2f} s after the kill, restart_timeout 2 s; the last failure: {cause}")
    assert out == {"count": 100000, "sha": hashlib.sha256("".join(f"{i}\n" for i in range(100000)).encode())
                   .hexdigest(), "contiguous": True, "result": ["succeeded", 0]}


def test_a_clean_stop_of_the_daemon_mid_build_is_no_gap_bus_activation_brings_it_back(svc, bob):
    svc.overlay("demo")
    client = Background(svc, """
        lines = []
        job = Builder().start_build("demo", "echo started; sleep 1; echo done")
        result = job.follow(lambda text: (lines.append(text), print(text, flush=True)))
        print(json.dumps({"lines": lines, "result": [result.state, result.exit_status]}), flush=True)
        """, user=bob)
    try:
        client.read_until("started")
        stopped = main_pid(svc)
        svc.stop_daemon()  # nothing restarts it but the client's next call
        out = client.last_json(timeout=30)
    finally:
        client.stop()
    assert out == {"lines": ["started", "done"], "result": ["succeeded", 0]}
    assert main_pid(svc) not in ("0", stopped)


def test_run_sandboxed_script_called_as_the_web_app_calls_it(svc, bob):
    svc.overlay("demo")
    out = py(svc, """
        from left4me_builder import BuildCancelled, BuildError, run_sandboxed_script
        events, ids = [], []
        def worker(script, should_cancel=lambda: False):
            try:
                return run_sandboxed_script("demo", script,
                                            on_stdout=lambda text: events.append(["out", text]),
                                            on_stderr=lambda text: events.append(["err", text]),
                                            should_cancel=should_cancel,
                                            on_started=ids.append)
            except BuildError as error:
                return [type(error).__name__, error.job_id, error.exit_status, error.status_text,
                        error.result.state, error.result.result, str(error)]
        ok = worker("echo out; echo err >&2; left4me-progress 50 half")
        ok_events = list(events)
        # The app saved the id: a redeploy later finds the build, log and all.
        again = [[line.stream, line.text] for line in Builder().job(ids[0]).lines()]
        failed = worker("left4me-progress 90 almost; exit 3")
        begun = time.monotonic()
        cancelled = worker("echo waiting; sleep 600", should_cancel=lambda: ["out", "waiting"] in events)
        print(json.dumps({"ok": ok, "ok_events": ok_events, "again": again, "failed": failed, "ids": ids,
                          "cancelled": cancelled, "cancel_seconds": time.monotonic() - begun}))
        """, user=bob)
    assert out["ok"] is None
    assert [text for stream, text in out["ok_events"] if stream == "out"] == ["out", "::left4me-progress:: 50 half"]
    assert [text for stream, text in out["ok_events"] if stream == "err"] == ["err"]
    assert out["again"] == [["stdout" if stream == "out" else "stderr", text] for stream, text in out["ok_events"]]
    assert len(set(out["ids"])) == 3
    name, job_id, exit_status, status_text, state, result, message = out["failed"]
    assert (name, job_id, exit_status, status_text, state, result) == \
        ("BuildError", out["ids"][1], 3, "almost", "failed", "exit-code")
    assert "exit status 3" in message and "almost" in message
    assert out["cancelled"][:2] == ["BuildCancelled", out["ids"][2]] and out["cancelled"][4] == "cancelled"
    assert out["cancel_seconds"] < 5
    # The shipped example is that function with a command line.
    example = svc.c.run([PYTHON, f"{EXAMPLES}/run_sandboxed_script.py", "demo", "echo hello; exit 4"], user=bob,
                        check=False)
    assert (example.returncode, example.stdout) == (1, "hello\n") and "exit status 4" in example.stderr


def test_progress_reports_parsed_by_the_client_match_the_daemons_properties(svc, bob):
    """Lines of the shared table (tests/unit/progress_cases.json; the unit
    tier checks that both parsers agree on all of it), each after a report
    the daemon surely takes: the client's last on_progress report and the
    daemon's Progress and StatusText must agree, and hide_progress must hide
    exactly the lines the daemon counts as reports. Eight builds at once (a
    user's limit): reports, a dash, spaces kept, and the syntax where
    Python's float() and the daemon's from_chars differ."""
    base = "::left4me-progress:: 7 base"
    table = {line for line, *_ in json.load(open(PROGRESS_CASES))["cases"]}
    lines = ["::left4me-progress:: 42 Downloading maps", "::left4me-progress:: 1. x",
             "::left4me-progress:: -  x", "::left4me-progress:: 5  two  spaces ", "::left4me-progress:: 101 too much",
             "::left4me-progress:: +5 x", "::left4me-progress:: 1e-400 x", "::left4me-progress:: 1_0"]
    assert table.issuperset(lines)
    builds = [[line, f"printf '%s\\n' {shlex.quote(base)} {shlex.quote(line)}"] for line in lines]
    for name in ("p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"):
        svc.overlay(name)
    out = py(svc, f"""
        builds = {builds!r}
        builder = Builder()
        compared = []
        for wave in range(0, len(builds), 8):  # at most 8 running builds per user
            jobs = [(line, builder.start_build(f"p{{i}}", script))
                    for i, (line, script) in enumerate(builds[wave:wave + 8])]
            for line, job in jobs:
                reports, shown = [], []
                job.follow(shown.append, on_progress=lambda *r: reports.append(list(r)), hide_progress=True)
                info = job.info()
                compared.append([line, reports[-1], [info.progress, info.status_text], shown])
        print(json.dumps(compared))
        """, user=bob, timeout=300)
    assert len(out) == len(builds)
    for line, client, daemon, shown in out:
        assert client[0] == pytest.approx(daemon[0], rel=1e-12, abs=1e-15) and client[1] == daemon[1], line
        is_report = client != [0.07, "base"]
        assert shown == ([] if is_report else [line]), line


def test_polkit_reads_groups_from_the_user_database_so_supplementary_groups_of_a_unit_are_not_enough(svc, bob):
    """The README's claim: subject.isInGroup() in 50-left4me-builder.rules
    reads the user database, so a web app's unit with
    SupplementaryGroups=left4me, whose user is not in the group, is refused."""
    svc.overlay("demo")
    code = PRELUDE + textwrap.dedent("""
        import grp, os
        groups = sorted(grp.getgrgid(gid).gr_name for gid in os.getgroups())
        print(json.dumps({"groups": groups, "answer": attempt(lambda: Builder().start_build("demo", "true").wait())}))
        """)

    def as_unit(user):
        return json.loads(svc.c.run(["systemd-run", "--wait", "--pipe", "--quiet", "-p", f"User={user}",
                                     "-p", "SupplementaryGroups=left4me", PYTHON, "-c", code]).stdout)

    alice = as_unit("alice")  # not in the group in /etc/group
    assert "left4me" in alice["groups"]  # yet her process has it
    assert alice["answer"][0] == "NotAuthorized"
    assert as_unit(bob)["answer"] is None  # in /etc/group: allowed
