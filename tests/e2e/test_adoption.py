"""Builds outlive the daemon: after kill -9, a stop or an idle exit, the next
daemon republishes ended jobs, adopts running ones and learns how the ones
that ended meanwhile ended."""

import json

import pytest

CTL = "left4me-builderctl"
JOBS = "/var/lib/left4me-builder/jobs"


def ctl_json(svc, *args):
    return json.loads(svc.c.run([CTL, "--json"] + [str(a) for a in args]).stdout)


def start(svc, overlay, script):
    svc.overlay(overlay)
    return svc.c.run([CTL, "build", overlay, "-", "--no-follow"], input=script).stdout.strip()


def main_pid(svc):
    return svc.c.run(["systemctl", "show", "-P", "MainPID", "left4me-builderd.service"]).stdout.strip()


def mounts_of(svc, job):
    return svc.c.sh(f"findmnt --task 1 -n -o TARGET | grep '/jobs/{job}/' ; true").stdout


def test_kill_9_mid_build_the_build_completes_and_a_new_client_sees_it_whole(svc):
    job = start(svc, "adopt-kill", "for i in $(seq 1 10); do echo tick $i; sleep 0.3; done\n")
    svc.wait_for(lambda: "tick 2" in svc.c.run([CTL, "log", job]).stdout, what="the build to be under way")
    old = main_pid(svc)
    svc.c.run(["kill", "-9", old])
    # Restart=on-failure brings the daemon back without waiting for a call.
    svc.wait_for(lambda: main_pid(svc) not in ("0", old) and svc.is_active() == "active", timeout=15,
                 what="the daemon to restart")
    log = svc.c.run([CTL, "log", job, "--follow"], timeout=60).stdout.splitlines()
    assert log == [f"tick {i}" for i in range(1, 11)]
    status = ctl_json(svc, "status", job)
    assert (status["State"], status["Result"], status["ExitStatus"]) == ("succeeded", "success", 0)
    assert mounts_of(svc, job) == ""
    # The overlay is free again, and the adopted job's success counts for skip_if_unchanged.
    assert svc.c.run([CTL, "build", "adopt-kill", "-"], input="echo next\n").stdout == "next\n"
    journal = svc.c.run(["journalctl", "-o", "cat", "-u", "left4me-builderd.service", f"LEFT4ME_JOB={job}"]).stdout
    assert f"Adopting build {job}" in journal


@pytest.mark.quick
def test_builds_that_end_while_no_daemon_runs_are_reported_with_their_result(svc):
    # Each says it runs, then waits for its go file.
    ok = start(svc, "adopt-ok", "echo fine; while [ ! -e go ]; do sleep 0.05; done\n")
    bad = start(svc, "adopt-bad", "echo broken >&2; while [ ! -e go ]; do sleep 0.05; done; exit 5\n")
    for job, text in ((ok, "fine"), (bad, "broken")):
        svc.wait_for(lambda job=job, text=text: text in svc.c.sh(f"cat {JOBS}/{job}/log 2>/dev/null; true").stdout,
                     what=f"build {job} to run")
    svc.stop_daemon()  # a clean stop (also what an idle exit does); the builds go on
    svc.c.run(["touch", "/var/lib/left4me/overlays/adopt-ok/go", "/var/lib/left4me/overlays/adopt-bad/go"])
    for job in (ok, bad):  # both end, unwatched
        svc.wait_for(lambda job=job: svc.unit_property(f"left4me-build@{job}.service", "ActiveState")
                     in ("inactive", "failed"), what=f"build {job} to end")
    # The next call activates a new daemon, which finds both and asks
    # systemd how they ended (a moment after it is on the bus).
    # (An adopted job recorded "starting" may show that first: wait for an end.)
    svc.wait_for(lambda: ctl_json(svc, "status", bad)["State"] in ("succeeded", "failed"),
                 what="the adopted jobs to end")
    ok_status = ctl_json(svc, "status", ok)
    bad_status = ctl_json(svc, "status", bad)
    assert (ok_status["State"], ok_status["Result"], ok_status["ExitStatus"]) == ("succeeded", "success", 0)
    assert (bad_status["State"], bad_status["Result"], bad_status["ExitStatus"]) == ("failed", "exit-code", 5)
    assert svc.c.run([CTL, "log", ok]).stdout == "fine\n"
    assert svc.c.run([CTL, "log", bad]).stderr == "broken\n"
    assert mounts_of(svc, ok) == "" and mounts_of(svc, bad) == ""
    # The failed instance was kept for its result, and reset once read.
    svc.wait_for(lambda: svc.c.run(["systemctl", "is-failed", f"left4me-build@{bad}.service"],
                                   check=False).stdout.strip() != "failed", what="the failed unit to be reset")


@pytest.mark.quick
def test_ended_jobs_stay_queryable_across_daemon_restarts(svc):
    job = start(svc, "adopt-history", "seq 9000; echo kept >&2; printf unterminated\n")
    svc.wait_for(lambda: ctl_json(svc, "status", job)["State"] == "succeeded", what="the build to end")
    # The record counts the log, so that a restarting daemon need not read
    # it; it stays untouched across the restart.
    record_path = f"/var/lib/left4me-builder/jobs/{job}/job.json"
    record = svc.c.run(["cat", record_path]).stdout
    assert json.loads(record)["log_lines"] == 9002
    svc.stop_daemon()
    everything = ctl_json(svc, "jobs", "--all")
    mine = [j for j in everything if str(j["Id"]) == job]
    assert mine and mine[0]["State"] == "succeeded" and mine[0]["Overlay"] == "adopt-history"
    assert svc.c.run(["cat", record_path]).stdout == record
    log = svc.c.run([CTL, "log", job])
    assert log.stdout == "".join(f"{i}\n" for i in range(1, 9001)) + "unterminated\n"
    assert log.stderr == "kept\n"
    assert svc.c.run([CTL, "log", job, "--from=8999"]).stdout == "9000\nunterminated\n"


def test_ended_jobs_are_removed_past_the_retention_count(svc):
    svc.set_config({"job_retention_count": 2})
    jobs = [start(svc, f"retain-{i}", f"echo {i}\n") for i in range(4)]
    def ended_or_removed(job):
        # One call: retention may remove the job between two.
        status = svc.c.run([CTL, "--json", "status", job], check=False)
        return status.returncode != 0 or json.loads(status.stdout)["State"] == "succeeded"

    for job in jobs:
        svc.wait_for(lambda job=job: ended_or_removed(job), what=f"job {job} to end")
    svc.wait_for(lambda: len(ctl_json(svc, "jobs", "--all")) == 2, what="the oldest jobs to be removed")
    ids = {str(j["Id"]) for j in ctl_json(svc, "jobs", "--all")}
    assert jobs[-2] in ids and jobs[-1] in ids
    assert jobs[0] not in ids and jobs[1] not in ids
    assert svc.c.run([CTL, "status", jobs[0]], check=False).returncode == 5
    gone = svc.c.run(["test", "-e", f"/var/lib/left4me-builder/jobs/{jobs[0]}"], check=False)
    assert gone.returncode != 0  # record and log went with the object
    # Also across a restart.
    svc.stop_daemon()
    assert {str(j["Id"]) for j in ctl_json(svc, "jobs", "--all")} == {jobs[-2], jobs[-1]}


def test_after_a_reboot_a_build_that_was_running_has_ended_and_nothing_stale_remains(svc):
    job = start(svc, "adopt-reboot", "echo before; sleep 600\n")
    svc.wait_for(lambda: svc.c.run([CTL, "log", job]).stdout == "before\n", what="the first line")
    svc.c.reboot()
    # Nothing of the build's runtime survives: its unit, its overlay bind
    # and its directory under /run went with the boot.
    assert svc.c.sh("systemctl list-units --all --plain --no-legend 'left4me-build@*'").stdout == ""
    assert svc.c.sh("findmnt --task 1 -n -o TARGET | grep left4me-builder ; true").stdout == ""
    assert svc.c.sh("ls -A /run/left4me-builder/jobs 2>/dev/null; true").stdout == ""
    # The next daemon reports the job ended, not running (nor "succeeded",
    # as a unit collected after it ran would be), with its log whole.
    svc.wait_for(lambda: ctl_json(svc, "status", job)["State"] != "running", what="the job to be settled")
    status = ctl_json(svc, "status", job)
    assert (status["State"], status["Result"], status["ExitStatus"]) == ("failed", "interrupted", -1), status
    journal = svc.c.run(["journalctl", "-o", "cat", "-u", "left4me-builderd.service", f"LEFT4ME_JOB={job}"]).stdout
    assert "was running when the machine rebooted" in journal
    assert svc.c.run([CTL, "log", job]).stdout == "before\n"
    # And the overlay is free for the next build.
    assert svc.c.run([CTL, "build", "adopt-reboot", "-"], input="echo after\n").stdout == "after\n"


def rewrite_record(svc, job, **fields):
    path = f"/var/lib/left4me-builder/jobs/{job}/job.json"
    record = json.loads(svc.c.run(["cat", path]).stdout)
    record.update(fields)
    svc.c.write(path, json.dumps(record), mode=0o600)
    return record


def test_a_build_recorded_starting_that_ran_and_was_collected_unseen_is_reported_as_it_ended(svc):
    """The `starting` window: a daemon that bound the overlay and died before
    it recorded the build running. The build runs on, succeeds and systemd
    collects its unit; the next daemon has only a `starting` record, and the
    exit record the unit's ExecStopPost= left."""
    job = start(svc, "adopt-window", "echo ran; sleep 1\n")
    svc.wait_for(lambda: ctl_json(svc, "status", job)["State"] == "running", what="the build to run")
    svc.stop_daemon()
    rewrite_record(svc, job, state="starting")
    unit = f"left4me-build@{job}.service"
    # (list-units, not show: show would load the unit again.)
    svc.wait_for(lambda: svc.c.run(["systemctl", "list-units", "--all", "--no-legend", unit]).stdout.strip() == "",
                 what="systemd to collect the unit")
    svc.wait_for(lambda: ctl_json(svc, "status", job)["State"] in ("succeeded", "failed"),
                 what="the adopted job to end")
    status = ctl_json(svc, "status", job)
    assert (status["State"], status["Result"], status["ExitStatus"]) == ("succeeded", "success", 0)
    assert svc.c.run([CTL, "log", job]).stdout == "ran\n"
    assert mounts_of(svc, job) == ""


def test_a_build_recorded_starting_whose_unit_never_ran_ends_interrupted(svc):
    """The daemon wrote the record and died before it asked systemd to start
    the unit: no unit, no exit record. The next daemon says what it knows."""
    donor = start(svc, "adopt-never", "true\n")
    svc.wait_for(lambda: ctl_json(svc, "status", donor)["State"] == "succeeded", what="the donor build to end")
    svc.stop_daemon()
    job = str(int(donor) + 1000)
    jobs = "/var/lib/left4me-builder/jobs"
    svc.c.sh(f"mkdir -m 0700 {jobs}/{job} && cp -p {jobs}/{donor}/job.json {jobs}/{donor}/script {jobs}/{job}/ "
             f"&& : > {jobs}/{job}/log")
    rewrite_record(svc, job, id=int(job), unit=f"left4me-build@{job}.service", state="starting", result="",
                   exit_status=-1, finished_at=0)
    try:
        svc.wait_for(lambda: ctl_json(svc, "status", job)["State"] in ("succeeded", "failed"),
                     what="the adopted job to end")
        status = ctl_json(svc, "status", job)
        assert (status["State"], status["Result"], status["ExitStatus"]) == ("failed", "interrupted", -1)
        journal = svc.c.run(["journalctl", "-o", "cat", "-u", "left4me-builderd.service",
                             f"LEFT4ME_JOB={job}"]).stdout
        assert "never ran" in journal
        # It holds nothing: its overlay is free.
        assert svc.c.run([CTL, "build", "adopt-never", "-"], input="echo again\n").stdout == "again\n"
    finally:
        # A job id far ahead of the others would be the newest to later tests.
        svc.stop_daemon()
        svc.c.run(["rm", "-rf", f"{jobs}/{job}"])
