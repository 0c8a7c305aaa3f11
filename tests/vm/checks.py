#!/usr/bin/python3
"""The measurements of the VM tier, run as root inside the VM at boot.

Each check drives the real daemon through left4me-builderctl, as a caller
would, and prints one line `LEFT4ME-VM {json}` on the serial console: what it
measured, never a verdict. test_limits.py and test_units.py, on the host,
decide. A check that raises prints its traceback in the same form, so the
host sees why.
"""

import json
import os
import pwd
import subprocess
import time
import traceback

CTL = "left4me-builderctl"
OVERLAYS = "/var/lib/left4me/overlays"


def report(check, **fields):
    print("LEFT4ME-VM " + json.dumps(dict(fields, check=check)), flush=True)


def overlay(name):
    path = os.path.join(OVERLAYS, name)
    os.makedirs(path, exist_ok=True)
    owner = pwd.getpwnam("left4me")
    os.chown(path, owner.pw_uid, owner.pw_gid)
    return name


def build(name, script, *options, timeout=300):
    """Runs SCRIPT to its end; returns the job's outcome, its log and stderr."""
    ran = subprocess.run([CTL, "--json", "--no-ask-password", "build", overlay(name), "-"] + list(options),
                         input=script, capture_output=True, text=True, timeout=timeout)
    lines, outcome = [], {}
    for line in ran.stdout.splitlines():
        entry = json.loads(line)
        if "text" in entry:
            lines.append(entry["text"])
        elif "state" in entry:
            outcome = entry
    return dict(outcome, log=lines, stderr=ran.stderr.strip(), exit_code=ran.returncode)


def start(name, script, *options):
    """Starts SCRIPT and returns the job id without waiting for it."""
    ran = subprocess.run([CTL, "--json", "--no-ask-password", "build", "--no-follow", overlay(name), "-"]
                         + list(options), input=script, capture_output=True, text=True, check=True, timeout=60)
    return json.loads(ran.stdout)["job"]


def job(job_id):
    ran = subprocess.run([CTL, "--json", "status", str(job_id)], capture_output=True, text=True, check=True,
                         timeout=60)
    return json.loads(ran.stdout)


def unit_property(unit, prop):
    return subprocess.run(["systemctl", "show", "-P", prop, unit], capture_output=True, text=True,
                          check=True).stdout.strip()


# -- the checks ---------------------------------------------------------------
def controllers():
    with open("/sys/fs/cgroup/cgroup.controllers") as f:
        host = f.read().split()
    with open("/proc/self/mounts") as f:
        cgroup_mounts = [line.split()[2] for line in f if line.split()[1].startswith("/sys/fs/cgroup")]
    with open("/etc/left4me/builder.json") as f:
        config = json.load(f)
    report("controllers", controllers=host, cgroup_mounts=cgroup_mounts, config=config)


# The sandbox reads its own cgroup: the limits the daemon asked for, as the
# kernel holds them.
LIMITS_SCRIPT = """
cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)
echo "memory.max=$(cat $cg/memory.max)"
echo "pids.max=$(cat $cg/pids.max)"
echo "cpu.max=$(cat $cg/cpu.max)"
"""


def limited_build():
    outcome = build("plain", LIMITS_SCRIPT, "--memory-max=100M", "--tasks-max=64", "--cpu-quota=50")
    report("limited_build", **outcome)


# 300 MiB, every page written: far past a 50 MiB MemoryMax=, and there is no
# swap to absorb it.
MEMORY_HOG = """
echo hogging
exec python3 -c 'x = b"x" * (300 << 20); print("allocated", len(x))'
"""


def memory_hog():
    outcome = build("hog", MEMORY_HOG, "--memory-max=50M")
    report("memory_hog", **outcome)


# Forks children that wait, until fork fails or 200 succeed; a pipe holds
# them, and closing it lets them all go. `exec` keeps bash from being one
# more task: the cgroup holds python and its children only.
FORK_LOOP = """
exec python3 - <<'EOF'
import os
r, w = os.pipe()
forked, error = 0, None
while forked < 200:
    try:
        pid = os.fork()
    except OSError as e:
        error = e.errno
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    forked += 1
os.close(w)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
print("forked", forked, "errno", error)
EOF
"""


def fork_loop():
    outcome = build("forks", FORK_LOOP, "--tasks-max=8")
    report("fork_loop", **outcome)


# Two busy loops, one for each of the VM's two CPUs: unlimited, they would
# use 2 CPU-seconds a second.
BUSY = """
for i in 1 2; do (while :; do :; done) & done
wait
"""


def cpu_quota():
    """Runs the busy loops under two quotas at once (20 % and 100 % of one
    CPU: 1.2 CPUs, so they do not compete for the VM's two) and reads each
    unit's CPUUsageNSec over the same WINDOW seconds of wall time."""
    window = 15
    jobs = {quota: start(f"busy{quota}", BUSY, f"--cpu-quota={quota}", "--timeout=300") for quota in (20, 100)}
    units = {}
    for quota, job_id in jobs.items():
        deadline = time.monotonic() + 120
        while job(job_id)["State"] != "running":
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} did not start")
            time.sleep(0.2)
        units[quota] = job(job_id)["Unit"]
    time.sleep(3)  # both loops running, past their start-up

    def sample():
        before = time.monotonic_ns()
        usage = {quota: int(unit_property(unit, "CPUUsageNSec")) for quota, unit in units.items()}
        return (before + time.monotonic_ns()) // 2, usage

    t0, usage0 = sample()
    time.sleep(window)
    t1, usage1 = sample()
    for quota, unit in units.items():
        report("cpu_quota", quota=quota, unit=unit, wall_ns=t1 - t0, cpu_ns=usage1[quota] - usage0[quota],
               ratio=(usage1[quota] - usage0[quota]) / (t1 - t0),
               cpu_quota_per_sec_usec=unit_property(unit, "CPUQuotaPerSecUSec"))
    for job_id in jobs.values():
        subprocess.run([CTL, "--no-ask-password", "cancel", str(job_id)], check=False, timeout=60)


# An add-on's unit, as InstallUnits gets it: version 1.0 runs once and
# stays active; version 2.0's start fails, so installing it must put 1.0
# back, enabled and active as it was.
ADDONS = "/var/lib/left4me/addons"
ADDON_UNIT = """[Service]
Type=oneshot
RemainAfterExit=yes
User=left4me
ExecStart={command}
[Install]
WantedBy=multi-user.target
"""
# Each run of 1.0 appends a line to RUNS, before systemd counts it started.
RUNS = f"{ADDONS}/tick/runs"
TICK = {"1.0": f"/bin/sh -c 'echo 1.0 $(id -un) >> {RUNS}'", "2.0": "/bin/false"}


def units_state(unit):
    """What systemd makes of UNIT now: its file, enablement and activity,
    and the runs of tick 1.0 so far."""
    path = f"/etc/systemd/system/{unit}"
    shown = subprocess.run(["systemctl", "show", "-p", "ActiveState,UnitFileState,Result", unit],
                           capture_output=True, text=True, check=True).stdout
    state = dict(line.split("=", 1) for line in shown.splitlines() if line)
    state["file"] = open(path).read() if os.path.exists(path) else None
    state["runs"] = open(RUNS).read().splitlines() if os.path.exists(RUNS) else []
    return state


def install_units(version):
    directory = os.path.join(ADDONS, "tick", "versions", version, "units")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "tick-worker.service"), "w") as f:
        f.write(ADDON_UNIT.format(command=TICK[version]))
    subprocess.run(["chown", "-R", "left4me:", os.path.join(ADDONS, "tick")], check=True)
    ran = subprocess.run([CTL, "--no-ask-password", "units", "install", "tick", version, "tick-worker.service",
                          "--enable=tick-worker.service", "--now"], capture_output=True, text=True, timeout=120)
    return {"exit_code": ran.returncode, "stderr": ran.stderr.strip()}


def addon_units():
    """Installs version 1.0, then the failing 2.0, then removes the add-on;
    reports what systemd made of the unit after each step."""
    first = install_units("1.0")
    report("addon_units", step="install 1.0", **first, state=units_state("tick-worker.service"))
    second = install_units("2.0")
    report("addon_units", step="install 2.0", **second, state=units_state("tick-worker.service"))
    removed = subprocess.run([CTL, "--no-ask-password", "units", "remove", "tick"], capture_output=True, text=True,
                             timeout=120)
    report("addon_units", step="remove", exit_code=removed.returncode, stderr=removed.stderr.strip(),
           state=units_state("tick-worker.service"),
           wants=os.listdir("/etc/systemd/system/multi-user.target.wants"))


def main():
    report("started", uptime=float(open("/proc/uptime").read().split()[0]))
    for check in (controllers, limited_build, memory_hog, fork_loop, cpu_quota, addon_units):
        began = time.monotonic()
        try:
            check()
        except Exception:
            report(check.__name__, error=traceback.format_exc())
        report("timing", name=check.__name__, seconds=round(time.monotonic() - began, 1))
    report("done")


if __name__ == "__main__":
    main()
