"""A build is warned before its timeout stops it: the job's Deadline, its
TimeoutWarned property and TimeoutWarning signal, one journal line, and what
left4me-builderctl shows, against the real daemon; once per job, across
restarts of the daemon."""

import json
import shlex
import time

import pytest

from conftest import PYTHON

CTL = "left4me-builderctl"
JOBS = "/var/lib/left4me-builder/jobs"
WARNING_ID = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a7d"
FINISHED_ID = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a52"
USEC = 1000000
# The Python client, as a web app's worker follows a job (argv[1]).
PY_FOLLOWER = """
import json, sys
from left4me_builder import Builder
with Builder() as builder:
    job = builder.job(int(sys.argv[1]))
    told = []
    job.follow(told.append, on_timeout_warning=lambda deadline: told.append(["warned", deadline]))
    info = job.info()
    print(json.dumps({"told": told, "deadline": job.deadline, "warned": job.timeout_warned,
                      "info": [info.deadline, info.timeout_warned]}))
"""


def ctl_json(svc, *args):
    return json.loads(svc.c.run([CTL, "--json"] + [str(a) for a in args]).stdout)


def journal(svc, job, message_id):
    """The daemon's entries for JOB (with MESSAGE_ID, unless None), as journalctl's JSON."""
    matches = [f"MESSAGE_ID={message_id}"] if message_id else []
    out = svc.c.run(["journalctl", "-o", "json", "-u", "left4me-builderd.service", f"LEFT4ME_JOB={job}"]
                    + matches).stdout
    return [json.loads(line) for line in out.splitlines()]


def job_of(svc, overlay):
    jobs = [j for j in ctl_json(svc, "jobs", "--all") if j["Overlay"] == overlay]
    return str(jobs[-1]["Id"]) if jobs else None


def get_property(svc, job, name):
    """What busctl says: e.g. "t 1796540575429119" or "b true"."""
    return svc.c.run(["busctl", "get-property", "org.left4me.Builder", f"/org/left4me/Builder/job/{job}",
                      "org.left4me.Builder.Job", name]).stdout.strip()


@pytest.mark.quick
def test_a_build_is_warned_once_at_three_quarters_of_its_timeout_and_one_that_ends_first_is_not(svc):
    svc.overlay("warn-short")
    svc.overlay("warn-long")
    # First, the one that ends at once: by the time the other is warned,
    # its own warning point (6 s after its start) has passed too.
    short = svc.c.run([CTL, "build", "warn-short", "-", "--timeout=8", "--no-follow"], input="echo quick\n").stdout.strip()
    svc.wait_for(lambda: ctl_json(svc, "status", short)["State"] == "succeeded", what="the short build to end")
    # busctl sees the signal; the pid file lets the test stop exactly this busctl.
    # (stdbuf: what busctl prints reaches the pipe before the test stops it.)
    match = "type='signal',interface='org.left4me.Builder.Job',member='TimeoutWarning'"
    monitor = svc.c.popen(["sh", "-c", "echo $$ > /run/warn-monitor.pid; exec stdbuf -oL busctl monitor "
                           f"--json=short {shlex.quote('--match=' + match)}"])
    svc.c.write("/tmp/warn-long.sh", "echo begin\nsleep 30\necho never\n")
    # One pipe for both streams: the CLI flushes stdout before its stderr lines.
    build = svc.c.popen(["sh", "-c", f"{CTL} build warn-long /tmp/warn-long.sh --timeout=8 2>&1; echo exit $?"])
    svc.wait_for(lambda: job_of(svc, "warn-long") is not None, what="the long build's job")
    job = job_of(svc, "warn-long")
    follower = svc.c.popen([CTL, "log", job, "--follow"])
    python = svc.c.popen([PYTHON, "-c", PY_FOLLOWER, job])

    status = ctl_json(svc, "status", job)
    deadline = status["Deadline"]
    assert deadline == status["CreatedAt"] + 8 * USEC
    assert get_property(svc, job, "Deadline") == f"t {deadline}"
    human = svc.c.run([CTL, "status", job]).stdout
    deadline_row = [line for line in human.splitlines() if line.strip().startswith("Deadline:")]
    assert len(deadline_row) == 1 and time.strftime("%Y-%m-%d", time.localtime(deadline / USEC)) in deadline_row[0]
    german = svc.c.run([CTL, "status", job], env={"LANGUAGE": "de"}).stdout
    assert any(line.strip().startswith("Frist:") for line in german.splitlines()), german

    out, _ = build.communicate(timeout=60)
    assert out.splitlines()[-1] == "exit 124"  # stopped at its timeout
    warning_lines = [line for line in out.splitlines() if "warning:" in line]
    assert len(warning_lines) == 1, out
    assert out.splitlines()[:2] == ["begin", warning_lines[0]]
    assert "reaches its timeout at" in warning_lines[0] and "will be stopped then" in warning_lines[0]
    followed, complaints = follower.communicate(timeout=30)
    assert followed == "begin\n"
    assert [line for line in complaints.splitlines() if "warning:" in line] == warning_lines
    client = json.loads(python.communicate(timeout=30)[0])
    assert client == {"told": ["begin", ["warned", deadline]], "deadline": deadline, "warned": True,
                      "info": [deadline, True]}

    status = ctl_json(svc, "status", job)
    assert (status["State"], status["Result"], status["TimeoutWarned"]) == ("failed", "timeout", True)
    assert status["Deadline"] == deadline
    assert get_property(svc, job, "TimeoutWarned") == "b true"
    assert "(warning given)" in svc.c.run([CTL, "status", job]).stdout

    # One journal line, between the start and the end, three quarters of the way.
    warned = journal(svc, job, WARNING_ID)
    assert len(warned) == 1
    assert int(warned[0]["LEFT4ME_DEADLINE"]) == deadline
    warned_at = int(warned[0]["__REALTIME_TIMESTAMP"])
    assert status["CreatedAt"] + 6 * USEC <= warned_at < deadline, (warned_at - status["CreatedAt"]) / USEC
    assert warned_at < int(journal(svc, job, FINISHED_ID)[0]["__REALTIME_TIMESTAMP"])

    svc.c.sh("kill $(cat /run/warn-monitor.pid)")
    signals = [json.loads(line) for line in monitor.communicate(timeout=30)[0].splitlines()]
    assert [(s["path"], s["payload"]["data"]) for s in signals] == [(f"/org/left4me/Builder/job/{job}", [deadline])]

    # The short build: never warned, though its warning point has passed.
    short_status = ctl_json(svc, "status", short)
    assert short_status["TimeoutWarned"] is False and short_status["Deadline"] == short_status["CreatedAt"] + 8 * USEC
    assert journal(svc, short, WARNING_ID) == []


def test_a_restarted_daemon_warns_a_build_that_passed_its_warning_point_meanwhile_and_never_warns_twice(svc):
    svc.set_config({"timeout_warning_percent": 50})  # warned 5 s into its 10
    svc.overlay("warn-adopt")
    script = "echo begin\nsleep 5.5\necho late\nsleep 30\n"
    job = svc.c.run([CTL, "build", "warn-adopt", "-", "--timeout=10", "--no-follow"], input=script).stdout.strip()
    created = ctl_json(svc, "status", job)["CreatedAt"]
    svc.stop_daemon()  # the build goes on, watched by no daemon
    # Past its warning point while no daemon runs: read from the disk, not the bus.
    svc.wait_for(lambda: "late" in svc.c.sh(f"cat {JOBS}/{job}/log 2>/dev/null; true").stdout, timeout=20,
                 what="the build to pass its warning point")
    assert journal(svc, job, WARNING_ID) == []
    # The next call starts a daemon, which adopts the build and warns at once.
    svc.wait_for(lambda: ctl_json(svc, "status", job)["TimeoutWarned"], what="the adopted build to be warned")
    warned = journal(svc, job, WARNING_ID)
    assert len(warned) == 1 and int(warned[0]["LEFT4ME_DEADLINE"]) == created + 10 * USEC
    # At once on adoption (as soon as systemd says the unit runs), not at a
    # later point: the default 75 % (7.5 s) would come 2 s after it.
    adopted = [e for e in journal(svc, job, None) if e["MESSAGE"].startswith(f"Adopting build {job} ")]
    waited = int(warned[0]["__REALTIME_TIMESTAMP"]) - int(adopted[0]["__REALTIME_TIMESTAMP"])
    assert 0 <= waited < USEC, waited / USEC
    record = json.loads(svc.c.run(["cat", f"{JOBS}/{job}/job.json"]).stdout)
    assert record["timeout_warned"] is True

    svc.stop_daemon()  # once more, before the deadline: adopted again, warned no more
    status = ctl_json(svc, "status", job)
    assert (status["State"], status["TimeoutWarned"], status["Deadline"]) == ("running", True, created + 10 * USEC)
    # A follower that comes after the warning prints it at once, once.
    follower = svc.c.popen([CTL, "log", job, "--follow"])
    followed, complaints = follower.communicate(timeout=30)
    assert followed == "begin\nlate\n"
    assert len([line for line in complaints.splitlines() if "warning: the build reaches its timeout" in line]) == 1
    status = ctl_json(svc, "status", job)
    assert (status["State"], status["Result"]) == ("failed", "timeout")
    assert len(journal(svc, job, WARNING_ID)) == 1
    adoptions = svc.c.run(["journalctl", "-o", "cat", "-u", "left4me-builderd.service", f"LEFT4ME_JOB={job}"]).stdout
    assert adoptions.count(f"Adopting build {job}") == 2
