"""The VM tier: build limits enforced by a real kernel.

The nspawn tier (../e2e) cannot enforce cgroup limits on these machines: the
memory, pids and cpu controllers sit on read-only cgroup v1 hierarchies
there, so it runs with allow_unenforced_limits. This tier boots a Debian 12
virtual machine with qemu (TCG, since nested KVM does not work here) on the
pure cgroup v2 hierarchy, installs this build into it with the shipped
configuration (allow_unenforced_limits false), and lets checks.py drive the
real daemon with left4me-builderctl as root. The VM boots once per session
(conftest.py); checks.py reports measurements on the serial console and
these tests judge them.
"""

from conftest import all_of, one


def test_the_vm_has_memory_pids_and_cpu_on_a_pure_cgroup_v2_hierarchy(reports):
    found = one(reports, "controllers")
    assert {"memory", "pids", "cpu"} <= set(found["controllers"])
    assert found["cgroup_mounts"] == ["cgroup2"]
    assert found["config"]["allow_unenforced_limits"] is False


def test_a_build_with_limits_runs_without_limits_unenforceable(reports):
    found = one(reports, "limited_build")
    # Refused, the CLI prints the error's message ("This host cannot enforce
    # the build limits: ...") and no outcome.
    assert found["stderr"] == "", found
    assert (found.get("state"), found.get("result"), found.get("exit_status")) == ("succeeded", "success", 0), found


def test_the_limits_asked_for_are_the_limits_on_the_build_cgroup(reports):
    found = one(reports, "limited_build")
    assert "memory.max=104857600" in found["log"], found["log"]
    assert "pids.max=64" in found["log"], found["log"]
    # 50 % of one CPU: 50 ms in every 100 ms period.
    assert "cpu.max=50000 100000" in found["log"], found["log"]


def test_memory_max_ends_a_memory_hog_with_oom_kill(reports):
    found = one(reports, "memory_hog")
    assert (found.get("state"), found.get("result")) == ("failed", "oom-kill"), found
    assert "hogging" in found["log"]
    assert not any(line.startswith("allocated") for line in found["log"]), found["log"]


def test_tasks_max_stops_a_fork_loop(reports):
    found = one(reports, "fork_loop")
    assert found.get("state") == "succeeded", found
    words = [line for line in found["log"] if line.startswith("forked")]
    assert len(words) == 1, found["log"]
    _, forked, _, errno = words[0].split()
    # TasksMax=8 counts python itself: at most 7 children, then fork fails
    # with EAGAIN (11). Unlimited, it would fork all 200.
    assert 1 <= int(forked) <= 7, words
    assert errno == "11", words


def test_cpu_quota_caps_a_busy_loop(reports):
    by_quota = {r["quota"]: r for r in all_of(reports, "cpu_quota")}
    assert set(by_quota) == {20, 100}, reports
    # Two busy loops on two CPUs would take 2.0 CPU-seconds a second. With
    # CPUQuota=20% they get at most 0.2, with 100% at most 1.0: the kernel's
    # CFS bandwidth control, on the guest's own clock, so a slow TCG guest
    # still shows the caps. Measured: 0.201 and 0.996 on an idle machine,
    # 0.194 and 0.935 with the machine's load average at 15 (the guest's own
    # work, slowed, then takes CPU time from the 100% job). The upper bounds
    # are the caps, with room for 100 ms throttling periods and the moments
    # around the two samples; the lower bounds show that the loops ran and
    # that the measurement tells the two quotas apart.
    assert 0.10 <= by_quota[20]["ratio"] <= 0.25, by_quota[20]
    assert 0.60 <= by_quota[100]["ratio"] <= 1.10, by_quota[100]
    assert by_quota[20]["cpu_quota_per_sec_usec"] == "200ms"
