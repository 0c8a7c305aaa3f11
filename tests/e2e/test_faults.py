"""Faults from outside: a kernel without the system calls the daemon is
built on, a full disk under the logs, the daemon killed with SIGKILL in the
middle of Mount and of ApplyCaps, and a log subscriber that stops reading.
After each, the state is one a person can reason about: the old one or the
new one, never a half, and the daemon serves on.

strace holds the daemon inside one chosen system call (fault injection with
a delay), so that SIGKILL lands exactly between two steps, not wherever the
scheduler happens to be."""

import hashlib
import json
import os
import signal
import subprocess

import pytest

from conftest import ERROR, sanitized

CTL = "left4me-builderctl"
L4M = "/var/lib/left4me"
ADDONS = f"{L4M}/addons"
JOBS = "/var/lib/left4me-builder/jobs"
UNIT = "left4me-builderd.service"


def kill_9_soon(svc, pid, call, delay_ms):
    """Sends CALL (busctl arguments) and kills the daemon DELAY_MS later."""
    # Many kills in a row would hit the unit's start rate limit (5 in 10 s),
    # which is not what these tests are about: reset its counter first.
    svc.c.run(["systemctl", "reset-failed", UNIT], check=False)
    svc.c.sh(f"busctl call org.left4me.Builder /org/left4me/Builder org.left4me.Builder {call} >/dev/null 2>&1 & "
             f"sleep {delay_ms / 1000}; kill -9 {pid}", check=False)


def main_pid(svc):
    return svc.c.run(["systemctl", "show", "-P", "MainPID", UNIT]).stdout.strip()


def wait_restarted(svc, old):
    """Restart=on-failure brings the daemon back after SIGKILL."""
    svc.wait_for(lambda: main_pid(svc) not in ("0", old) and svc.is_active() == "active", timeout=20,
                 what="the daemon to restart")
    # On the bus, with its recovery done: any answered call proves both.
    svc.wait_for(lambda: "error" in svc.call("Unmount", "no-such-instance"), timeout=20, what="the daemon to answer")


def tracer(svc, pid):
    """The pid of the process tracing PID, "0" if none."""
    return svc.c.sh(f"grep '^TracerPid:' /proc/{pid}/status").stdout.split()[1]


def wait_traced(svc, pid):
    svc.wait_for(lambda: tracer(svc, pid) != "0", what="strace to attach")


def journal(svc):
    return svc.c.run(["journalctl", "--no-pager", "-o", "cat", "-u", UNIT]).stdout


def in_container(svc, argv):
    """A long-running process inside the container, driven from here."""
    return subprocess.Popen(["nsenter", "-t", str(svc.c.pid), "-a", "--"] + argv,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# -- a kernel without openat2 -------------------------------------------------

@pytest.fixture
def no_openat2(svc):
    """The daemon as on a kernel older than 5.6: openat2 answers ENOSYS
    (a seccomp filter in a drop-in, the way such a kernel would)."""
    dropin = "/run/systemd/system/left4me-builderd.service.d/no-openat2.conf"
    svc.c.write(dropin, "[Service]\nSystemCallFilter=~openat2\nSystemCallErrorNumber=ENOSYS\n")
    svc.c.run(["systemctl", "daemon-reload"])
    svc.stop_daemon()
    yield
    svc.c.run(["rm", "-f", dropin])
    svc.c.run(["systemctl", "daemon-reload"])
    svc.stop_daemon()


@pytest.mark.quick
def test_without_openat2_every_method_that_needs_it_answers_not_supported(svc, no_openat2):
    svc.overlay("nosys")
    svc.c.sh(f"rm -rf {L4M}/installation/nosys {ADDONS}/nosys && mkdir -p {L4M}/installation/nosys "
             f"{ADDONS}/nosys/versions/1/bin && cp /usr/bin/true {ADDONS}/nosys/versions/1/bin/t")
    for method, args in [("StartBuild", ["nosys", "echo never", {}]),
                         ("Mount", ["nosys", [f"{L4M}/installation/nosys"], {}]),
                         ("ApplyCaps", ["nosys", "1", "bin/t", ["cap_net_raw"], {"activate": True}])]:
        answer = svc.refused(method, *args, error="NotSupported", mentions=["openat2", "Linux 5.12"])
        assert "symlinks" in answer["message"], answer
    assert svc.c.run(["getcap", f"{ADDONS}/nosys/versions/1/bin/t"]).stdout == ""
    assert svc.c.run(["test", "-e", f"{ADDONS}/nosys/current"], check=False).returncode != 0
    assert svc.is_active() == "active"


# -- a full disk under the logs ---------------------------------------------

@pytest.fixture
def small_jobs_dir(svc):
    """The jobs directory (logs, scripts, records) on a 4 MiB tmpfs, mounted
    before the daemon starts so that it and the build units see it."""
    svc.stop_daemon()
    svc.c.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", JOBS])
    yield
    svc.c.sh("systemctl stop 'left4me-build@*.service'; true", check=False)
    svc.stop_daemon()
    svc.c.run(["umount", "-l", JOBS])


def fill(svc, leave_kib):
    """Fills the jobs filesystem, then frees LEAVE_KIB."""
    svc.c.sh(f"dd if=/dev/zero of={JOBS}/filler bs=64k status=none 2>/dev/null; "
             f"truncate -s -{leave_kib}K {JOBS}/filler; sync", check=False)


def test_a_full_disk_stops_a_build_with_result_log_write_failed_and_keeps_earlier_logs(svc, small_jobs_dir):
    svc.overlay("full")
    earlier = svc.build("full", "echo earlier; echo also >&2")
    assert earlier["properties"]["State"] == "succeeded"
    earlier_job = earlier["job"].rsplit("/", 1)[1]
    fill(svc, leave_kib=256)
    # About 6 MiB of log into 256 KiB of room.
    out = svc.build("full", "seq 1000000; echo never reached", timeout=60)
    props = out["properties"]
    assert (props["State"], props["Result"], props["ExitStatus"]) == ("failed", "log-write-failed", 124), props
    assert "never reached" not in out["lines"]
    # The lines that were written are whole and in order, and the last line
    # of the log (stderr) names the error.
    job = out["job"].rsplit("/", 1)[1]
    log = svc.c.run([CTL, "log", job])
    numbers = log.stdout.splitlines()
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)] and len(numbers) > 1000
    assert "cannot write the log (No space left on device)" in log.stderr, log.stderr[-300:]
    # Earlier logs are untouched, and the daemon serves on.
    earlier_log = svc.c.run([CTL, "log", earlier_job])
    assert (earlier_log.stdout, earlier_log.stderr) == ("earlier\n", "also\n")
    assert svc.is_active() == "active"


@pytest.mark.quick
def test_a_full_disk_refuses_a_new_build_and_leaves_nothing_behind(svc, small_jobs_dir):
    svc.overlay("full")
    fill(svc, leave_kib=0)
    answer = svc.refused("StartBuild", "full", "echo hi", {}, error="Failed", mentions="No space left on device")
    assert "Cannot prepare the build" in answer["message"]
    svc.c.run(["rm", f"{JOBS}/filler"])
    assert svc.build("full", "echo room again")["lines"] == ["room again"]


# -- SIGKILL in the middle of ApplyCaps with activate -------------------------

@pytest.fixture
def addon(svc):
    svc.c.sh(f"rm -rf {ADDONS}/crash && mkdir -p {ADDONS}/crash/versions/1.0/bin {ADDONS}/crash/versions/2.0/bin && "
             f"cp /usr/bin/true {ADDONS}/crash/versions/1.0/bin/probe && "
             f"cp /usr/bin/true {ADDONS}/crash/versions/2.0/bin/probe")
    svc.c.run(["systemctl", "start", UNIT])
    assert svc.call("ApplyCaps", "crash", "1.0", "bin/probe", ["cap_net_raw"], {"activate": True}) == {"reply": []}
    return f"{ADDONS}/crash"


def caps_state(svc, addon):
    return {
        "current": svc.c.run(["readlink", f"{addon}/current"]).stdout.strip(),
        "1.0": svc.c.run(["getcap", f"{addon}/versions/1.0/bin/probe"]).stdout.split(" ", 1)[-1].strip(),
        "2.0": svc.c.run(["getcap", f"{addon}/versions/2.0/bin/probe"]).stdout.split(" ", 1)[-1].strip(),
        "entries": svc.c.sh(f"ls -A {addon}").stdout.split(),
    }


BEFORE = {"current": "versions/1.0", "1.0": "cap_net_raw=ep", "2.0": "", "entries": ["current", "versions"]}
AFTER = {"current": "versions/2.0", "1.0": "cap_net_raw=ep", "2.0": "cap_bpf=ep", "entries": ["current", "versions"]}


def test_sigkill_between_setting_capabilities_and_moving_current_rolls_the_capabilities_back(svc, addon):
    assert caps_state(svc, addon) == BEFORE
    pid = main_pid(svc)
    # Hold the daemon at the rename that moves `current` (the second: the
    # first puts 2.0's capable copy in place): the capabilities of 2.0 are
    # set and its temporary link exists, `current` is unchanged.
    strace = in_container(svc, ["strace", "-qq", "-p", pid, "-e", "trace=renameat,renameat2",
                                "-e", "inject=renameat,renameat2:delay_enter=60000000:when=2"])
    wait_traced(svc, pid)
    call = in_container(svc, ["busctl", "call", "org.left4me.Builder", "/org/left4me/Builder", "org.left4me.Builder",
                              "ApplyCaps", "sssasa{sv}", "crash", "2.0", "bin/probe", "1", "cap_bpf",
                              "1", "activate", "b", "true"])
    svc.wait_for(lambda: any(e.startswith(".current.tmp.") for e in caps_state(svc, addon)["entries"]),
                 timeout=20, what="the daemon to reach the activation")
    half = caps_state(svc, addon)
    assert half["2.0"] == "cap_bpf=ep" and half["current"] == "versions/1.0"  # the state a crash must not keep
    svc.c.run(["kill", "-9", pid])
    # The kill is pending while strace holds the daemon; once strace goes,
    # the kernel aborts the held rename and the daemon dies before it.
    svc.c.run(["pkill", "-9", "-x", "strace"])
    strace.wait(timeout=20)
    call.wait(timeout=20)
    wait_restarted(svc, pid)
    # The next daemon found the intent and undid the first step.
    assert caps_state(svc, addon) == BEFORE
    assert "its previous capabilities were restored" in journal(svc)
    assert svc.c.run(["ls", "-A", "/var/lib/left4me-builder/caps-pending"]).stdout == ""
    # And the same call now goes through.
    assert svc.call("ApplyCaps", "crash", "2.0", "bin/probe", ["cap_bpf"], {"activate": True}) == {"reply": []}
    assert caps_state(svc, addon) == AFTER


@pytest.mark.quick
def test_a_failed_move_of_current_restores_the_previous_capabilities_byte_for_byte(svc, addon):
    """The capabilities are set, then the rename that moves `current` fails
    (strace makes the renameat naming `current` fail with EIO): the daemon
    itself puts the binary's previous security.capability back, reports it,
    and leaves `current` as it was; no intent stays for the next daemon."""
    binary = f"{addon}/versions/2.0/bin/probe"
    svc.c.run(["setcap", "cap_bpf=ep", binary])  # previous capabilities that are not none

    def state():
        return {"xattr": svc.c.run(["getfattr", "--absolute-names", "-n", "security.capability", "-e", "hex",
                                    binary]).stdout,
                "1.0": svc.c.run(["getfattr", "--absolute-names", "-n", "security.capability", "-e", "hex",
                                  f"{addon}/versions/1.0/bin/probe"]).stdout,
                "current": svc.c.run(["readlink", f"{addon}/current"]).stdout,
                "entries": svc.c.sh(f"ls -A {addon}").stdout}

    before = state()
    assert "security.capability=0x" in before["xattr"] and before["current"] == "versions/1.0\n"
    pid = main_pid(svc)
    strace = in_container(svc, ["strace", "-qq", "-p", pid, "-P", "current", "-e", "trace=renameat,renameat2",
                                "-e", "inject=renameat,renameat2:error=EIO"])
    wait_traced(svc, pid)
    try:
        answer = svc.call("ApplyCaps", "crash", "2.0", "bin/probe", ["cap_net_raw"], {"activate": True})
    finally:
        svc.c.run(["kill", tracer(svc, pid)])  # strace detaches on SIGTERM
        strace.wait(timeout=20)
    assert answer.get("error") == ERROR + "Failed", answer
    assert "previous capabilities were restored" in answer["message"], answer
    assert "Input/output error" in answer["message"], answer  # the injected failure, not another
    assert state() == before
    assert svc.c.run(["ls", "-A", "/var/lib/left4me-builder/caps-pending"]).stdout == ""
    # The same daemon serves on, and the same call now goes through.
    assert main_pid(svc) == pid
    assert svc.call("ApplyCaps", "crash", "2.0", "bin/probe", ["cap_net_raw"], {"activate": True}) == {"reply": []}
    assert svc.c.run(["readlink", f"{addon}/current"]).stdout == "versions/2.0\n"


@pytest.mark.slow
def test_sigkill_at_spread_out_moments_of_an_activation_leaves_the_old_state_or_the_new(svc, addon):
    # A kill before the call arrives lets the next daemon serve it; one
    # during it must be settled by the next daemon. Either way: old or new.
    for delay_ms in range(0, 500, 50):
        svc.call("ApplyCaps", "crash", "1.0", "bin/probe", ["cap_net_raw"], {"activate": True})
        svc.c.run(["setcap", "-r", f"{addon}/versions/2.0/bin/probe"], check=False)
        assert caps_state(svc, addon) == BEFORE
        pid = main_pid(svc)
        kill_9_soon(svc, pid, "ApplyCaps sssasa{sv} crash 2.0 bin/probe 1 cap_bpf 1 activate b true", delay_ms)
        wait_restarted(svc, pid)
        state = caps_state(svc, addon)
        assert state in (BEFORE, AFTER), f"killed {delay_ms} ms into the call: {state}"


# -- SIGKILL in the middle of Mount --------------------------------------------

@pytest.fixture
def layers(svc):
    svc.c.sh(f"""set -e
        rm -rf {L4M}/installation/crash {L4M}/overlays/crash-maps
        mkdir -p {L4M}/installation/crash {L4M}/overlays/crash-maps
        echo base > {L4M}/installation/crash/who; echo maps > {L4M}/overlays/crash-maps/who""")
    svc.c.run(["systemctl", "start", UNIT])
    yield [f"{L4M}/overlays/crash-maps", f"{L4M}/installation/crash"]
    svc.call("Unmount", "crash")


def mount_state(svc):
    where = f"{L4M}/runtime/crash/merged"
    return {
        "mounted": svc.c.sh(f"findmnt --task 1 -n -o FSTYPE {where}; true").stdout.strip(),
        "unit": svc.c.sh("systemctl list-units --all --plain --no-legend 'var-lib-left4me-runtime-crash*' "
                         "| awk '{print $3}'").stdout.strip(),
        "record": svc.c.run(["test", "-e", "/var/lib/left4me-builder/mounts/crash.json"],
                            check=False).returncode == 0,
    }


@pytest.mark.slow
@pytest.mark.parametrize("persistent", [False, True], ids=["transient", "persistent"])
def test_sigkill_at_spread_out_moments_of_a_mount_leaves_it_known_or_absent(svc, layers, persistent):
    options = "1 persistent b true" if persistent else "0"
    for delay_ms in range(0, 600, 60):
        pid = main_pid(svc)
        kill_9_soon(svc, pid, f"Mount sasa{{sv}} crash 2 {' '.join(layers)} {options}", delay_ms)
        wait_restarted(svc, pid)
        state = mount_state(svc)
        # Known and mounted, or absent everywhere: never a mount without a
        # record (an orphan) or a record without a mount.
        assert state in ({"mounted": "overlay", "unit": "active", "record": True},
                         {"mounted": "", "unit": "", "record": False}), f"killed {delay_ms} ms in: {state}"
        if state["record"]:
            assert svc.call("Unmount", "crash") == {"reply": []}
        else:
            assert svc.call("Unmount", "crash")["error"] == ERROR + "NotMounted"
        assert mount_state(svc) == {"mounted": "", "unit": "", "record": False}
        assert svc.c.run(["test", "-e", "/etc/systemd/system/var-lib-left4me-runtime-crash-merged.mount"],
                         check=False).returncode != 0


def test_sigkill_while_the_mount_record_is_written_leaves_nothing_mounted_or_recorded(svc, layers):
    pid = main_pid(svc)
    # Hold the daemon right after it put the record in place, before it
    # asks systemd for the unit.
    strace = in_container(svc, ["strace", "-qq", "-p", pid, "-e", "trace=rename",
                                "-e", "inject=rename:delay_exit=60000000"])
    wait_traced(svc, pid)
    call = in_container(svc, ["busctl", "call", "org.left4me.Builder", "/org/left4me/Builder", "org.left4me.Builder",
                              "Mount", "sasa{sv}", "crash", "2", *layers, "0"])
    svc.wait_for(lambda: mount_state(svc)["record"], timeout=20, what="the daemon to record the mount")
    svc.c.run(["kill", "-9", pid])
    svc.c.run(["pkill", "-9", "-x", "strace"])
    strace.wait(timeout=20)
    call.wait(timeout=20)
    wait_restarted(svc, pid)
    # The next daemon found a record without a unit and forgot it.
    assert mount_state(svc) == {"mounted": "", "unit": "", "record": False}
    assert "Instance crash is no longer mounted" in journal(svc)
    assert svc.call("Unmount", "crash")["error"] == ERROR + "NotMounted"
    where = svc.call("Mount", "crash", layers, {})["reply"][0]
    assert svc.c.run(["cat", f"{where}/who"]).stdout == "maps\n"


# -- a subscriber that stops reading -------------------------------------------

def daemon_memory_kib(svc, field):
    status = svc.c.run(["cat", f"/proc/{main_pid(svc)}/status"]).stdout
    return int([l for l in status.splitlines() if l.startswith(field + ":")][0].split()[1])


def subscribers(svc, job):
    """How many connections have asked the bus for the signals of JOB."""
    rules = json.loads(svc.c.run(["busctl", "call", "--json=short", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                  "org.freedesktop.DBus.Debug.Stats", "GetAllMatchRules"]).stdout)["data"][0]
    return sum(any(f"path='/org/left4me/Builder/job/{job}'" in rule for rule in connection)
               for connection in rules.values())


def open_fds(svc, pid):
    return int(svc.c.sh(f"ls /proc/{pid}/fd | wc -l").stdout)


@pytest.mark.slow
@pytest.mark.plain_daemon
def test_a_frozen_log_subscriber_costs_the_daemon_nothing_and_others_get_every_line(svc):
    svc.overlay("frozen")
    # Warm: polkit, the idmap's user namespace and the first build's costs.
    assert svc.c.run([CTL, "build", "frozen", "-"], input="true\n").returncode == 0
    pid = main_pid(svc)
    before, fds = daemon_memory_kib(svc, "VmRSS"), open_fds(svc, pid)
    job = svc.c.run([CTL, "build", "frozen", "-", "--no-follow"],
                    input="while [ ! -e go ]; do sleep 0.05; done; seq 1000000; echo done >&2\n").stdout.strip()
    # Two followers subscribe before the first line; one of them is frozen.
    frozen = svc.c.sh(f"{CTL} log {job} --follow >/dev/null 2>&1 & echo $!").stdout.strip()
    healthy = in_container(svc, ["sh", "-c", f"{CTL} log {job} --follow 2>/dev/null | sha256sum"])
    svc.wait_for(lambda: subscribers(svc, job) == 2, what="both followers to subscribe")
    svc.c.run(["kill", "-STOP", frozen])
    svc.c.run(["touch", f"{L4M}/overlays/frozen/go"])
    try:
        out, _ = healthy.communicate(timeout=300)
        status = json.loads(svc.c.run([CTL, "--json", "status", job]).stdout)
        peak = daemon_memory_kib(svc, "VmHWM")
        assert svc.c.run(["grep", "-q", "^State:.*stopped", f"/proc/{frozen}/status"], check=False).returncode == 0
    finally:
        svc.c.run(["kill", "-CONT", frozen], check=False)
        svc.c.run(["kill", frozen], check=False)
    expected = "\n".join(str(i) for i in range(1, 1000001)) + "\n"
    # Every line, in order, once: the digest of exactly seq's output.
    assert out.split()[0] == hashlib.sha256(expected.encode()).hexdigest(), out
    # The build itself was not held up.
    assert (status["State"], status["Result"]) == ("succeeded", "success"), status
    # dbus-daemon queues (and at its limit drops) for the frozen reader; the
    # daemon keeps nothing for it: no memory, and no file once it is gone.
    svc.wait_for(lambda: subscribers(svc, job) == 0, what="the followers to go")
    assert (main_pid(svc), open_fds(svc, pid)) == (pid, fds)
    bound = 256 * 1024 if sanitized(svc.c) else 32 * 1024
    assert peak - before < bound, f"daemon RSS rose from {before} KiB to a peak of {peak} KiB"
    print(f"\na frozen subscriber: daemon RSS {before} KiB, peak {peak} KiB; {fds} fds before and after")


def test_a_stop_while_calls_to_systemd_are_out_exits_cleanly_and_the_build_is_settled(svc):
    """SIGTERM reaches the daemon while its calls to systemd for a new build
    await their answers (PID 1 is frozen to hold them). It exits with status
    0 and, in a sanitizer build, without a LeakSanitizer report: each reply
    callback held its proxy and the proxy held the callback, so a call still
    out kept both, and the bus connection, alive past the end (found by CI,
    where a stop right after StartBuild sometimes met such a call). The next
    daemon settles the build and the overlay is free."""
    svc.overlay("stop-warm")
    svc.overlay("stop-in-flight")
    # Warm: polkit, the idmap's user namespace and the first build's costs.
    assert svc.build("stop-warm", "true")["properties"]["State"] == "succeeded"
    pid = main_pid(svc)
    since = svc.c.run(["date", "+%Y-%m-%d %H:%M:%S"]).stdout.strip()
    os.kill(svc.c.pid, signal.SIGSTOP)
    try:
        answer = svc.call("StartBuild", "stop-in-flight", "echo never\n", {})
        svc.c.run(["kill", "-TERM", pid])
        # Exited: a zombie, since PID 1 cannot reap it yet.
        svc.wait_for(lambda: svc.c.sh(f"grep -s '^State' /proc/{pid}/status; true").stdout.split()[1:2] in (["Z"], []),
                     what="the daemon to exit")
    finally:
        os.kill(svc.c.pid, signal.SIGCONT)
    assert "reply" in answer, answer
    job = answer["reply"][0].rsplit("/", 1)[1]
    svc.wait_for(lambda: svc.is_active() == "inactive", what="systemd to see the daemon gone")
    assert (svc.unit_property(UNIT, "Result"), svc.unit_property(UNIT, "ExecMainStatus")) == ("success", "0")
    journal = svc.c.run(["journalctl", "--no-pager", "-o", "cat", "-u", UNIT, "--since", since]).stdout
    assert "Sanitizer" not in journal, journal[-3000:]
    # The next daemon, activated by the next call, finds the build and ends it.
    svc.wait_for(lambda: json.loads(svc.c.run([CTL, "--json", "status", job]).stdout)["State"] not in
                 ("starting", "running"), timeout=30, what="the build to be settled")
    # Settled to the end: its runtime directory (the never-used mount point) is gone.
    assert svc.c.run(["ls", f"/run/left4me-builder/jobs/{job}"], check=False).returncode != 0
    assert svc.build("stop-in-flight", "echo again")["lines"] == ["again"]
