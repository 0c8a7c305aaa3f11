"""StartBuild's options, checked on the running unit and in the sandbox."""

import time

import pytest

from conftest import ERROR
from swap import swapping_for_a_symlink

RULES = "/usr/share/doc/left4me-builderd/examples/50-left4me-builder.rules"


@pytest.mark.quick
def test_limit_options_appear_on_the_running_unit(svc):
    svc.overlay("demo")
    job = svc.call("StartBuild", "demo", "sleep 30",
                   {"memory_max": 100 * 1024 * 1024, "tasks_max": 20, "cpu_quota": 25})["reply"][0]
    unit = "left4me-build@" + job.rsplit("/", 1)[1] + ".service"
    svc.wait_for(lambda: svc.unit_property(unit, "ActiveState") == "active", what="the build to run")
    assert svc.unit_property(unit, "MemoryMax") == str(100 * 1024 * 1024)
    assert svc.unit_property(unit, "TasksMax") == "20"
    assert svc.unit_property(unit, "CPUQuotaPerSecUSec") == "250ms"
    assert svc.call("Cancel", job) == {"reply": []}


@pytest.mark.quick
def test_a_limit_above_the_configured_ceiling_is_refused_naming_the_key(svc):
    svc.overlay("demo")
    answer = svc.call("StartBuild", "demo", "true", {"tasks_max": 10 ** 9})
    assert answer["error"] == ERROR + "InvalidArgument"
    assert '"tasks_max"' in answer["message"] and "ceiling" in answer["message"]


def test_timeout_sec_ends_the_build_with_result_timeout(svc):
    svc.overlay("demo")
    out = svc.build("demo", "echo begin; sleep 30", options={"timeout_sec": 1})
    assert out["properties"]["Result"] == "timeout"
    assert out["properties"]["State"] == "failed"


@pytest.mark.quick
def test_environment_variables_are_set_and_source_date_epoch_comes_from_the_hash(svc):
    svc.overlay("demo")
    script = 'echo "$MAP|$TAG"; echo "$SOURCE_DATE_EPOCH"; echo "$LEFT4ME_BUILD_HASH"'
    out = svc.build("demo", script, options={"environment": ["MAP=c1m1_hotel", "TAG=a=b"]})
    assert out["lines"][0] == "c1m1_hotel|a=b"
    build_hash = out["properties"]["BuildHash"]
    assert len(build_hash) == 64 and out["lines"][2] == build_hash
    again = svc.build("demo", script, options={"environment": ["MAP=c1m1_hotel", "TAG=a=b"]})
    assert again["properties"]["BuildHash"] == build_hash
    assert again["lines"][1] == out["lines"][1]  # same inputs, same SOURCE_DATE_EPOCH
    for reserved in ("PATH=/tmp", "OVERLAY=/etc", "SOURCE_DATE_EPOCH=1"):
        answer = svc.call("StartBuild", "demo", "true", {"environment": [reserved]})
        assert answer["error"] == ERROR + "InvalidArgument" and "cannot be overridden" in answer["message"]


def test_environment_values_reach_the_script_byte_for_byte(svc):
    """Values used to go through an EnvironmentFile, which systemd parses
    shell-style: blanks at either end, quotes and backslashes were lost, so
    the script saw other values than BuildHash was computed from."""
    values = {"A": "a ", "B": " b", "C": '"q"', "D": "'s'", "E": "x\\y", "F": "t\tu", "G": "$HOME `x` %n"}
    svc.overlay("demo")
    script = "".join(f"printf '%s|\\n' \"${key}\"\n" for key in values)
    out = svc.build("demo", script, options={"environment": [f"{k}={v}" for k, v in values.items()]})
    assert out["lines"] == [f"{v}|" for v in values.values()]


@pytest.mark.quick
def test_skip_if_unchanged_returns_a_succeeded_job_without_running(svc):
    path = svc.overlay("skip")
    script = "date +%s%N >> runs"
    first = svc.build("skip", script, options={"skip_if_unchanged": True})
    assert first["properties"]["State"] == "succeeded"
    skipped = svc.call("StartBuild", "skip", script, {"skip_if_unchanged": True})["reply"][0]
    props = svc.c.run(["busctl", "get-property", "org.left4me.Builder", skipped, "org.left4me.Builder.Job",
                       "State", "Result"]).stdout.split()
    assert props == ['s', '"succeeded"', 's', '"skipped"']
    assert len(svc.c.run(["cat", f"{path}/runs"]).stdout.splitlines()) == 1
    # Other inputs run again.
    second = svc.build("skip", script + " # changed", options={"skip_if_unchanged": True})
    assert second["properties"]["Result"] == "success"
    assert len(svc.c.run(["cat", f"{path}/runs"]).stdout.splitlines()) == 2


def test_a_skipped_build_binds_nothing(svc):
    """The overlay is checked but never bound when nothing runs, so a skip
    works even on a filesystem that cannot be idmapped (the container's
    overlayfs root), where a real build answers UnsupportedFilesystem."""
    svc.overlay("skip-nobind")
    script = "true # skip-nobind"
    assert svc.build("skip-nobind", script)["properties"]["Result"] == "success"
    svc.c.sh("mkdir -p /srv/ovl/skip-nobind && chown left4me: /srv/ovl/skip-nobind")
    svc.set_config({"overlays_root": "/srv/ovl"})
    skipped = svc.call("StartBuild", "skip-nobind", script, {"skip_if_unchanged": True})
    assert "reply" in skipped, skipped
    assert svc.c.run(["busctl", "get-property", "org.left4me.Builder", skipped["reply"][0],
                      "org.left4me.Builder.Job", "Result"]).stdout.split() == ["s", '"skipped"']
    ran = svc.call("StartBuild", "skip-nobind", script + " # changed", {"skip_if_unchanged": True})
    assert ran["error"] == ERROR + "UnsupportedFilesystem"
    # The overlay is still checked when the build would be skipped.
    svc.c.sh("rm -rf /srv/ovl/skip-nobind && ln -s /etc /srv/ovl/skip-nobind")
    gone = svc.call("StartBuild", "skip-nobind", script, {"skip_if_unchanged": True})
    assert gone["error"] == ERROR + "InvalidArgument", gone


def test_a_subscriber_receives_a_million_lines_complete_and_in_order(svc):
    svc.overlay("big")
    out = svc.build("big", "seq 1 1000000", timeout=120)
    lines = out["lines"]
    assert len(lines) == 1000000
    assert out["gaps"] == []
    assert lines == [str(i) for i in range(1, 1000001)]  # complete and in order
    assert out["replay"]["reply"][1] == lines[:65536]


def test_limits_that_cannot_be_enforced_are_refused_unless_the_configuration_allows_it(svc):
    svc.overlay("demo")
    svc.set_config({"allow_unenforced_limits": False})
    # The test container's unified hierarchy has no controllers at all.
    svc.refused("StartBuild", "demo", "true", {}, error="LimitsUnenforceable",
                mentions=["memory, pids, cpu", "allow_unenforced_limits"])
    svc.set_config(None)
    out = svc.build("demo", "true")
    assert out["properties"]["State"] == "succeeded"
    journal = svc.c.run(["journalctl", "-u", "left4me-builderd", "-n", "30", "--no-pager"]).stdout
    assert "Build limits are not enforced on this host" in journal


def test_progress_reported_by_the_script_shows_in_the_job_properties(svc):
    svc.overlay("demo")
    out = svc.build("demo", 'left4me-progress 50 "half way"; sleep 0.2; left4me-progress - waiting; '
                            'sleep 0.2; left4me-progress 100 done')
    changes = [c for c in out["property_changes"] if "Progress" in c]
    assert changes == [{"Progress": 0.5, "StatusText": "half way"}, {"Progress": -1.0, "StatusText": "waiting"},
                       {"Progress": 1.0, "StatusText": "done"}]
    assert out["properties"]["Progress"] == 1.0 and out["properties"]["StatusText"] == "done"
    assert out["lines"][0] == "::left4me-progress:: 50 half way"  # the marker stays in the log


@pytest.mark.quick
def test_hostile_output_is_delivered_safely_and_the_daemon_keeps_serving(svc):
    """NUL bytes, invalid UTF-8, a line over 64 KiB and a last line without
    a newline reach a subscriber as documented in the XML (U+FFFD, split at
    65536 bytes), identical in the signals and in ReadLog."""
    svc.overlay("hostile")
    script = ("printf 'a\\000b\\n'\n"
              "printf '\\377\\376 bad\\n'\n"
              "head -c 70000 /dev/zero | tr '\\000' x; echo\n"
              "printf 'no newline at the end'\n")
    out = svc.build("hostile", script, user=None)
    assert out["properties"]["State"] == "succeeded", out
    lines = out["lines"]
    assert lines[0] == "a\ufffdb"
    assert lines[1].startswith("\ufffd") and lines[1].endswith(" bad")
    assert lines[2] == "x" * 65536 and lines[3] == "x" * (70000 - 65536)
    assert lines[4] == "no newline at the end"
    assert len(lines) == 5
    assert out["replay"]["reply"] == [5, lines]
    # Still serving.
    again = svc.build("hostile", "echo still here\n", user=None)
    assert again["lines"] == ["still here"]


def test_running_builds_are_limited_overall_and_per_caller(svc):
    svc.set_config({"max_running_builds": 2, "max_running_builds_per_user": 1})
    for name in ("limit-a", "limit-b", "limit-c"):
        svc.overlay(name)
    first = svc.call("StartBuild", "limit-a", "sleep 30", {})
    assert "reply" in first, first
    # The same caller again: its own limit.
    mine = svc.call("StartBuild", "limit-b", "true", {})
    assert mine["error"] == ERROR + "LimitsExceeded"
    assert "max_running_builds_per_user" in mine["message"]
    # Another caller still has room, up to the overall limit.
    with svc.polkit_reload():
        svc.c.run(["cp", RULES, "/etc/polkit-1/rules.d/50-test-left4me.rules"])
    other = svc.call("StartBuild", "limit-b", "sleep 30", {}, user="bob")
    assert "reply" in other, other
    full = svc.call("StartBuild", "limit-c", "true", {}, user="bob")
    assert full["error"] == ERROR + "LimitsExceeded"
    assert "max_running_builds)" in full["message"]
    for job in (first["reply"][0], other["reply"][0]):
        svc.call("Cancel", job)


@pytest.mark.quick
def test_the_sandbox_resolves_names_with_public_resolvers_not_the_hosts(svc):
    """The host's resolver sits on loopback or the LAN, out of the public-only
    sandbox's reach; the sandbox gets public resolvers instead."""
    svc.overlay("resolv")
    out = svc.build("resolv", "grep '^nameserver' /etc/resolv.conf")
    assert out["properties"]["State"] == "succeeded", out
    assert out["lines"] == ["nameserver 1.1.1.1", "nameserver 9.9.9.9", "nameserver 2606:4700:4700::1111"]


def test_an_overlay_swapped_for_a_symlink_is_never_bound_into_the_sandbox(svc):
    """The overlay is opened beneath overlays_root without symlinks and
    cloned from that fd, so a symlink swapped in at any moment is refused,
    never followed to the decoy next to it."""
    overlays = "/var/lib/left4me/overlays"
    svc.c.sh(f"rm -rf {overlays}/race {overlays}/race.swap /var/lib/left4me/decoy && "
             f"mkdir -p {overlays}/race /var/lib/left4me/decoy && chown left4me: {overlays}/race /var/lib/left4me/decoy")
    outcomes = {"built": 0, "symlink": 0, "busy": 0}
    with swapping_for_a_symlink(svc, f"{overlays}/race", "../decoy"):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = svc.build("race", 'touch "$OVERLAY/written-$$"')
            if "error" not in out:
                assert out["properties"]["State"] == "succeeded", out
                outcomes["built"] += 1
            elif out["error"] == ERROR + "Busy":
                outcomes["busy"] += 1
            else:  # the overlay is always there, as the directory or the symlink
                assert out["error"] == ERROR + "InvalidArgument" and "without symlinks" in out["message"], out
                outcomes["symlink"] += 1
    print(f"\nStartBuild while the overlay is swapped: {outcomes}")
    assert svc.c.sh("ls -A /var/lib/left4me/decoy").stdout == "", "a build wrote through the symlink"
    # The race happened: builds met the real directory, and others met the
    # symlink and were refused for it.
    assert outcomes["built"] > 0 and outcomes["symlink"] > 0, outcomes
    assert "/var/lib/left4me/decoy" not in svc.c.sh("findmnt --task 1 -n -o TARGET,SOURCE; true").stdout


@pytest.mark.quick
def test_a_log_past_its_size_limit_stops_the_build_with_result_log_limit(svc):
    svc.set_config({"max_log_bytes": 1048576})
    svc.overlay("chatty")
    out = svc.build("chatty", "while :; do echo 'all work and no play makes a dull build'; done")
    props = out["properties"]
    assert (props["State"], props["Result"], props["ExitStatus"]) == ("failed", "log-limit", 125), props
    assert out["lines"][-1].startswith("\x1eleft4me-build-run: the log reached its limit of 1048576 bytes")
    assert out["lines"][-2] == "all work and no play makes a dull build"  # whole lines up to the end
    size = int(svc.c.run(["stat", "-c", "%s", f"/var/lib/left4me-builder/jobs/{props['Id']}/log"]).stdout)
    assert 1048576 - 2048 < size <= 1048576
    # The limit is the daemon's: a build cannot raise it through its environment.
    refused = svc.call("StartBuild", "chatty", "true", {"environment": ["LEFT4ME_LOG_LIMIT=99999999999"]})
    assert refused["error"] == ERROR + "InvalidArgument" and "LEFT4ME_LOG_LIMIT" in refused["message"]
