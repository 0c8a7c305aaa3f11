"""The Python client, left4me_builder, against the real daemon.

Each test runs a small driver with the container's /usr/bin/python3, which
imports the package as `meson install` put it there, and prints one JSON
object: the client code runs exactly where a deployment runs it."""

import hashlib
import json
import subprocess
import textwrap

import pytest

from conftest import PYTHON
from lossy_bus import assert_every_line_once_through_the_gap, follow_through_a_gap

RULES = "/usr/share/doc/left4me-builderd/examples/50-left4me-builder.rules"
EXAMPLES = "/usr/share/doc/left4me-builderd/examples"
L4M = "/var/lib/left4me"

PRELUDE = """\
import json, sys, threading, time
import left4me_builder
from left4me_builder import *

def attempt(call):
    try:
        call()
    except BuilderError as error:
        return [type(error).__name__, error.name, str(error)]
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
            for number, text in lines:
                contiguous = contiguous and number == count
                count += 1
                h.update(text.encode() + b"\\n")
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
    assert out["tail"] == [[99998, "99998"], [99999, "99999"]]
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
        for expected, (number, text) in enumerate(Builder().job(int(sys.argv[1])).lines()):
            if number != expected:
                sys.exit(f"line {number} came where {expected} was due")
            print(text)
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
            results[name] = [number == int(text) for number, text in job.lines()].count(True)
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
        lines = [text for _, text in job.lines()]
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
            "option": attempt(lambda: builder.start_build("demo", "true", memory=True)),
            "no_job": attempt(lambda: builder.cancel("/org/left4me/Builder/job/999999")),
            "no_job_object": attempt(lambda: builder.job(999999).state),
            "challenge": attempt(lambda: builder.mount("inst1", layers)),
            "interactive": attempt(lambda: Builder(interactive=True).mount("inst1", layers)),
            "no_bus": attempt(lambda: Builder("unix:path=/run/no-such-bus")),
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
    assert as_bob["no_bus"][0] == "BusError"
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


def test_following_a_job_ends_with_bus_error_when_the_daemon_goes_away(svc, bob):
    svc.overlay("demo")
    # The follower runs in the background while root stops the daemon.
    follower = subprocess.Popen(
        ["nsenter", "-t", str(svc.c.pid), "-a", "--", "setpriv", "--reuid=bob", "--regid=bob", "--init-groups",
         "--reset-env", "--", PYTHON, "-c", PRELUDE + textwrap.dedent("""
            job = Builder().start_build("demo", "echo started; sleep 600")
            print(json.dumps(attempt(lambda: job.follow(lambda text: print(text, flush=True)))), flush=True)
            """)], stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout.readline().strip() == "started"
        svc.stop_daemon()
        rest, _ = follower.communicate(timeout=30)  # not for ever: the bug would be a hang
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    answer = json.loads(rest.splitlines()[-1])
    assert answer[0] == "BusError" and "exited" in answer[2]


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


def test_the_example_run_sandboxed_script_streams_a_real_build(svc, bob):
    svc.overlay("demo")
    out = py(svc, f"""
        sys.path.insert(0, {EXAMPLES!r})
        from run_sandboxed_script import run_sandboxed_script
        stdout, stderr = [], []
        result = run_sandboxed_script("echo out; echo err >&2; exit 3", "demo", stdout.append, stderr.append,
                                      lambda: False)
        begun = time.monotonic()
        cancelled = run_sandboxed_script("echo waiting; sleep 600", "demo", stdout.append, stderr.append,
                                         lambda: "waiting" in stdout)
        print(json.dumps({{"stdout": stdout, "stderr": stderr, "result": [result.state, result.exit_status],
                          "cancelled": cancelled.state, "seconds": time.monotonic() - begun}}))
        """, user=bob)
    assert out["stdout"] == ["out", "waiting"] and out["stderr"] == ["err"]
    assert out["result"] == ["failed", 3]
    assert out["cancelled"] == "cancelled" and out["seconds"] < 5
