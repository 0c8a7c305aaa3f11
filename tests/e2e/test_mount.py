"""Mount and Unmount against the real daemon: overlayfs for game-server
instances, held by systemd mount units in PID 1's namespace."""

import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import ERROR, sanitized
from swap import swapping_for_a_symlink

L4M = "/var/lib/left4me"
RUNTIME = f"{L4M}/runtime"


@pytest.fixture
def layers(svc):
    svc.c.sh(f"""set -e
        rm -rf {L4M}/installation/base {L4M}/overlays/maps {L4M}/overlays/cfg
        mkdir -p {L4M}/installation/base {L4M}/overlays/maps {L4M}/overlays/cfg
        echo base > {L4M}/installation/base/who; echo base > {L4M}/installation/base/only-base
        echo maps > {L4M}/overlays/maps/who
        echo cfg > {L4M}/overlays/cfg/who
        chown -R left4me: {L4M}/installation/base {L4M}/overlays/maps {L4M}/overlays/cfg""")
    return [f"{L4M}/overlays/cfg", f"{L4M}/overlays/maps", f"{L4M}/installation/base"]


@pytest.fixture
def clean_mounts(svc):
    yield
    for inst in svc.c.sh(f"ls {RUNTIME} 2>/dev/null; true").stdout.split():
        svc.call("Unmount", inst)


def mounts_of(svc, path=RUNTIME + "/"):
    return svc.c.sh(f"findmnt --task 1 -n -r -o TARGET,FSTYPE,OPTIONS | grep '{path}' ; true").stdout


def units(svc):
    return svc.c.sh("systemctl list-units --all --plain --no-legend --type=mount | grep left4me-runtime- ; true").stdout


@pytest.mark.quick
def test_a_mount_of_three_layers_is_an_overlay_held_by_systemd(svc, layers, clean_mounts):
    answer = svc.call("Mount", "srv1", layers, {})
    where = f"{RUNTIME}/srv1/merged"
    assert answer == {"reply": [where]}
    line = mounts_of(svc, where)
    assert "overlay" in line and "nosuid" in line and "nodev" in line, line
    assert svc.c.run(["cat", f"{where}/who"]).stdout == "cfg\n"          # the top layer wins
    assert svc.c.run(["cat", f"{where}/only-base"]).stdout == "base\n"
    svc.c.run(["sh", "-c", f"echo new > {where}/written"], user="left4me")
    assert svc.c.run(["cat", f"{RUNTIME}/srv1/upper/written"]).stdout == "new\n"
    unit = "var-lib-left4me-runtime-srv1-merged.mount"
    status = svc.c.run(["systemctl", "status", "--no-pager", unit]).stdout
    assert "active (mounted)" in status
    owner = svc.c.sh(f"stat -c %U {RUNTIME}/srv1/upper {RUNTIME}/srv1/work {where}").stdout.split()
    assert owner == ["left4me"] * 3
    objects = svc.c.run(["busctl", "call", "--json=short", "org.left4me.Builder", "/org/left4me/Builder",
                         "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"]).stdout
    assert "/org/left4me/Builder/mount/srv1" in objects and unit in objects


@pytest.mark.quick
def test_setuid_files_in_a_layer_do_not_run_as_root(svc, layers, clean_mounts):
    svc.c.sh(f"cp /usr/bin/id {L4M}/overlays/maps/suid-id && chmod 4755 {L4M}/overlays/maps/suid-id")
    where = svc.call("Mount", "srv2", layers, {})["reply"][0]
    out = svc.c.run([f"{where}/suid-id", "-u"], user="alice").stdout.strip()
    assert out == svc.c.run(["id", "-u", "alice"]).stdout.strip()
    assert out != "0"


@pytest.mark.quick
@pytest.mark.parametrize("prepare,layer,rule", [
    (f"ln -sfn {L4M}/overlays/maps {L4M}/overlays/link", f"{L4M}/overlays/link", "without symlinks"),
    (f"mkdir -p {L4M}/overlays/maps/sub && ln -sfn {L4M}/overlays/maps {L4M}/overlays/dirlink",
     f"{L4M}/overlays/dirlink/sub", "without symlinks"),
    ("mkdir -p /srv/outside", "/srv/outside", "not inside a configured layer root"),
    ("true", f"{L4M}/overlays/../../../etc", "normalized"),
    (f"mkdir -p '{L4M}/overlays/a,b'", f"{L4M}/overlays/a,b", "not allowed"),
    (f"mkdir -p '{L4M}/overlays/a:b'", f"{L4M}/overlays/a:b", "not allowed"),
    ("true", f"{L4M}/overlays/missing", "existing directory"),
])
def test_unsafe_layers_are_refused_and_nothing_is_mounted(svc, layers, clean_mounts, prepare, layer, rule):
    svc.c.sh(prepare)
    before = (mounts_of(svc, "/"), units(svc))
    answer = svc.call("Mount", "srv3", [layer, layers[-1]], {})
    assert answer["error"] == ERROR + "InvalidArgument", answer
    assert rule in answer["message"]
    assert (mounts_of(svc, "/"), units(svc)) == before


def test_a_layer_swapped_for_a_symlink_to_etc_is_never_mounted(svc, layers, clean_mounts):
    victim = f"{L4M}/overlays/maps"
    outcomes = {"mounted": 0, "etc seen": 0, "symlink": 0, "other refusal": []}
    with swapping_for_a_symlink(svc, victim, "/etc"):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            answer = svc.call("Mount", "race", [victim, layers[-1]], {})
            if "reply" in answer:
                outcomes["mounted"] += 1
                where = answer["reply"][0]
                if svc.c.run(["test", "-e", f"{where}/os-release"], check=False).returncode == 0:
                    outcomes["etc seen"] += 1
                svc.call("Unmount", "race")
            elif "without symlinks" in answer["message"] and "symbolic links" in answer["message"]:  # ELOOP
                outcomes["symlink"] += 1
            else:
                outcomes["other refusal"].append(answer)
    print(f"\nMount while the layer is swapped: {outcomes}")
    assert outcomes["etc seen"] == 0 and outcomes["other refusal"] == [], outcomes
    # The race happened: mounts met the real layer, and others met the
    # symlink and were refused for it.
    assert outcomes["mounted"] > 0 and outcomes["symlink"] > 0, outcomes
    assert "/etc" not in mounts_of(svc, "/")


@pytest.mark.plain_daemon
def test_mount_and_unmount_cycles_leak_nothing(svc, layers, clean_mounts):
    def rss():
        status = svc.c.run(["cat", f"/proc/{pid}/status"]).stdout
        return int([l for l in status.splitlines() if l.startswith("VmRSS:")][0].split()[1])

    for _ in range(10):  # warm up allocator and caches
        assert "reply" in svc.call("Mount", "cycle", layers, {})
        assert svc.call("Unmount", "cycle") == {"reply": []}
    pid = svc.unit_property("left4me-builderd.service", "MainPID")
    before = rss()
    fds = open_fds(svc, pid)
    script = ("import subprocess\n"
              "for i in range(100):\n"
              "    for args in (['Mount', 'sasa{sv}', 'cycle', '3', " + ", ".join(repr(l) for l in layers) + ", '0'],\n"
              "                 ['Unmount', 's', 'cycle']):\n"
              "        subprocess.run(['busctl', 'call', 'org.left4me.Builder', '/org/left4me/Builder',\n"
              "                        'org.left4me.Builder'] + args, check=True, capture_output=True)\n")
    svc.c.run(["/usr/bin/python3", "-c", script], timeout=300)
    after = rss()
    assert svc.unit_property("left4me-builderd.service", "MainPID") == pid  # the same daemon throughout
    assert mounts_of(svc) == ""
    assert units(svc) == ""
    assert svc.c.sh("ls /run/left4me-builder/m 2>/dev/null; true").stdout.strip() == ""
    now = open_fds(svc, pid)
    assert len(now) == len(fds), f"{len(fds)} fds before, {len(now)} after: {sorted(set(now) ^ set(fds))}"
    if not sanitized(svc.c):  # under ASan, LeakSanitizer checks at the daemon's exit instead
        assert after - before < 512, f"daemon RSS grew from {before} KiB to {after} KiB over 100 cycles"
    print(f"\n100 Mount/Unmount cycles: RSS {before} -> {after} KiB, {len(fds)} fds before and after")


def open_fds(svc, pid):
    """What the daemon has open: each fd and what it points at."""
    return sorted(svc.c.sh(f"cd /proc/{pid}/fd && for fd in *; do echo \"$fd $(readlink $fd)\"; done").stdout
                  .splitlines())


def test_a_unit_requiring_the_mount_starts_after_it_and_sees_the_files(svc, layers, clean_mounts):
    where = svc.call("Mount", "srv4", layers, {})["reply"][0]
    out = svc.c.run(["systemd-run", "--wait", "--pipe", "--quiet", f"--property=RequiresMountsFor={where}",
                     "cat", f"{where}/who"]).stdout
    assert out == "cfg\n"


@pytest.mark.quick
def test_already_mounted_not_mounted_and_busy(svc, layers, clean_mounts):
    where = svc.call("Mount", "srv5", layers, {})["reply"][0]
    assert svc.call("Mount", "srv5", layers, {}) == {"reply": [where]}  # same layers: nothing changes
    other = svc.call("Mount", "srv5", layers[1:], {})
    assert other["error"] == ERROR + "AlreadyMounted"
    assert svc.call("Unmount", "never-mounted")["error"] == ERROR + "NotMounted"
    user = subprocess.Popen(["nsenter", "-t", str(svc.c.pid), "-a", "--", "sh", "-c", f"cd {where} && exec sleep 30"])
    try:
        svc.wait_for(lambda: svc.c.sh(f"fuser -m {where}", check=False).returncode == 0, what="a user of the mount")
        busy = svc.call("Unmount", "srv5")
        assert busy["error"] == ERROR + "Busy"
        assert "in use by process" in busy["message"]
        assert where in mounts_of(svc, where)  # never lazily detached
    finally:
        svc.c.sh("pkill -xf 'sleep 30'; true")
        user.wait()
    svc.wait_for(lambda: svc.call("Unmount", "srv5") == {"reply": []}, what="the unmount once the user is gone")
    assert mounts_of(svc, where) == ""
    # The instance's directories stay; the upper directory keeps its data.
    assert svc.c.run(["test", "-d", f"{RUNTIME}/srv5/upper"]).returncode == 0


@pytest.mark.quick
def test_an_upper_directory_from_fuse_overlayfs_is_refused_naming_the_attribute(svc, layers, clean_mounts):
    svc.c.sh(f"mkdir -p {RUNTIME}/old/upper && setfattr -n user.fuseoverlayfs.origin -v x {RUNTIME}/old/upper")
    answer = svc.call("Mount", "old", layers, {})
    assert answer["error"] == ERROR + "InvalidArgument"
    assert "user.fuseoverlayfs.origin" in answer["message"]
    assert mounts_of(svc, f"{RUNTIME}/old") == ""


@pytest.mark.quick
def test_a_read_only_mount_has_no_upper_layer(svc, layers, clean_mounts):
    where = svc.call("Mount", "ro", [layers[0]], {"read_only": True})["reply"][0]
    assert svc.c.run(["cat", f"{where}/who"]).stdout == "cfg\n"
    assert svc.c.run(["touch", f"{where}/x"], check=False).returncode != 0
    assert "upperdir" not in mounts_of(svc, where)


def test_a_persistent_read_only_mount_of_one_layer_works(svc, layers, clean_mounts):
    """overlayfs wants two lower layers without an upper one; the persistent
    unit, which names real paths, gets the empty one too."""
    answer = svc.call("Mount", "ro1", [layers[0]], {"read_only": True, "persistent": True})
    assert "reply" in answer, answer
    where = answer["reply"][0]
    assert svc.c.run(["cat", f"{where}/who"]).stdout == "cfg\n"
    assert svc.c.run(["touch", f"{where}/x"], check=False).returncode != 0
    assert svc.call("Unmount", "ro1") == {"reply": []}


def test_mounts_survive_a_restart_of_the_daemon(svc, layers, clean_mounts):
    where = svc.call("Mount", "srv6", layers, {})["reply"][0]
    # kill(1) on the main pid: systemctl kill goes through the container's
    # cgroup, which sometimes fails with EIO here.
    pid = svc.c.run(["systemctl", "show", "-P", "MainPID", "left4me-builderd.service"]).stdout.strip()
    svc.c.run(["kill", "-9", pid])
    svc.wait_for(lambda: svc.c.run(["systemctl", "show", "-P", "MainPID", "left4me-builderd.service"]).stdout.strip()
                 != pid, what="the daemon to die")
    svc.stop_daemon()
    assert svc.call("Mount", "srv6", layers, {}) == {"reply": [where]}
    assert svc.call("Unmount", "srv6") == {"reply": []}


@pytest.mark.quick
def test_a_persistent_mount_gets_an_enabled_unit_file_and_unmount_removes_it(svc, layers, clean_mounts):
    unit = "var-lib-left4me-runtime-srv7-merged.mount"
    where = svc.call("Mount", "srv7", layers, {"persistent": True})["reply"][0]
    text = svc.c.run(["cat", f"/etc/systemd/system/{unit}"]).stdout
    assert text.startswith("# Generated by left4me-builderd")
    assert "nosuid,nodev" in text and "What=overlay" in text
    assert svc.c.run(["systemctl", "is-enabled", unit]).stdout.strip() == "enabled"
    assert "overlay" in mounts_of(svc, where)
    assert svc.call("Unmount", "srv7") == {"reply": []}
    assert svc.c.run(["test", "-e", f"/etc/systemd/system/{unit}"], check=False).returncode != 0
    assert svc.c.sh("ls /etc/systemd/system/multi-user.target.wants/ | grep left4me; true").stdout == ""
    assert mounts_of(svc, where) == ""


@pytest.mark.parametrize("name", ["pct/%E", "odd 'name %n"])
def test_a_persistent_mount_names_its_layers_literally_whatever_their_characters(svc, clean_mounts, name):
    """A unit file is parsed: %E is /etc to systemd. A layer directory named
    "%E" beside a symlink "etc" -> /etc used to mount the host's /etc; each
    string is now escaped for the setting it goes into, so systemd reads
    back the very path (specifiers, blanks and quotes included; a double
    quote, which mount(8) would read as quoting, is refused at the door)."""
    top = f"{L4M}/installation/{name.split('/')[0]}"
    layer = f"{L4M}/installation/{name}"
    svc.c.run(["rm", "-rf", top])
    svc.c.run(["mkdir", "-p", layer])
    if layer != top:
        svc.c.run(["ln", "-s", "/etc", f"{top}/etc"])  # what "%E" would lead to, beside it
    svc.c.write(f"{layer}/marker", "layer\n")
    svc.c.run(["chown", "-R", "left4me:", top])
    answer = svc.call("Mount", "pct", [layer], {"persistent": True})
    assert "reply" in answer, answer
    where = answer["reply"][0]
    unit = "var-lib-left4me-runtime-pct-merged.mount"
    try:
        assert svc.c.run(["ls", where]).stdout.split() == ["marker"]
        for _ in range(2):  # as loaded, and as read back from the file
            shown = {key: svc.unit_property(unit, key) for key in ("Where", "Options", "RequiresMountsFor")}
            assert shown["Where"] == where
            assert f"lowerdir={layer}," in shown["Options"]
            assert layer in shown["RequiresMountsFor"]
            svc.c.run(["systemctl", "daemon-reload"])
        assert svc.call("Mount", "pct", [layer], {"persistent": True}) == {"reply": [where]}
    finally:
        assert svc.call("Unmount", "pct") == {"reply": []}
        svc.c.run(["rm", "-rf", top])


def test_64_layers_with_long_paths_mount(svc, clean_mounts):
    names = [f"{L4M}/overlays/" + ("L%02d-" % i) + "x" * 90 for i in range(64)]
    svc.c.sh("; ".join(f"mkdir -p {n} && echo {i} > {n}/f{i}" for i, n in enumerate(names)))
    assert all(len(n) >= 120 for n in names)
    where = svc.call("Mount", "wide", names, {})["reply"][0]
    assert svc.c.run(["cat", f"{where}/f63"]).stdout == "63\n"
    assert svc.call("Unmount", "wide") == {"reply": []}
    svc.c.sh(f"rm -rf {L4M}/overlays/L*")


def test_after_a_reboot_a_persistent_mount_is_back_and_a_transient_one_is_not(svc, layers, clean_mounts):
    # Keep this test last in the file: it reboots the shared container.
    kept = svc.call("Mount", "keep", layers, {"persistent": True})["reply"][0]
    gone = svc.call("Mount", "gone", layers, {})["reply"][0]
    svc.c.run(["sh", "-c", f"echo survives > {kept}/note"], user="left4me")
    svc.c.reboot()
    assert "overlay" in mounts_of(svc, kept)
    assert svc.c.run(["cat", f"{kept}/note"]).stdout == "survives\n"
    assert svc.c.run(["cat", f"{kept}/who"]).stdout == "cfg\n"
    assert mounts_of(svc, gone) == ""
    # The next activation of the daemon knows what is (and is not) mounted.
    assert svc.call("Mount", "keep", layers, {"persistent": True}) == {"reply": [kept]}
    assert svc.call("Unmount", "gone")["error"] == ERROR + "NotMounted"
    assert svc.call("Unmount", "keep") == {"reply": []}
    assert mounts_of(svc, kept) == ""


def test_a_start_systemd_does_not_answer_in_time_is_stopped_before_the_mount_fails(svc, layers, clean_mounts):
    """sd-bus gives up on a call after 25 s, but systemd may still act on
    it later. The daemon must not report "nothing stays mounted" (and close
    the layer fds the unit's options name) until a stop queued behind the
    start has settled it. PID 1 is frozen for the 25 s to make it slow."""
    # Up, with polkit and the daemon's long-lived fds (PID 1's namespace) warm.
    assert "reply" in svc.call("Mount", "warm", layers, {})
    assert svc.call("Unmount", "warm") == {"reply": []}
    pid = svc.unit_property("left4me-builderd.service", "MainPID")
    fds = svc.c.sh(f"ls /proc/{pid}/fd | wc -l").stdout
    unit = "var-lib-left4me-runtime-late-merged.mount"
    answer = {}
    os.kill(svc.c.pid, signal.SIGSTOP)
    try:
        caller = threading.Thread(target=lambda: answer.update(svc.call("Mount", "late", layers, {})))
        caller.start()
        time.sleep(27)
    finally:
        os.kill(svc.c.pid, signal.SIGCONT)
    caller.join(60)
    assert answer.get("error") == ERROR + "Failed", answer
    assert "did not answer in time" in answer["message"] and "Nothing stays mounted" in answer["message"], answer
    # systemd then saw the start, and the stop right behind it: the start job
    # was cancelled, so nothing was ever mounted (the old daemon had closed
    # the layer fds by then, and systemd's late mount over them failed).
    assert mounts_of(svc) == ""
    assert units(svc) == ""
    assert "Mounting" not in svc.c.run(["journalctl", "--no-pager", "-o", "cat", "-u", unit]).stdout
    assert svc.c.sh("ls /var/lib/left4me-builder/mounts 2>/dev/null; true").stdout.strip() == ""
    assert svc.c.sh(f"ls /proc/{pid}/fd | wc -l").stdout == fds
    # And the instance is free: the same Mount now works.
    assert "reply" in svc.call("Mount", "late", layers, {})
    assert svc.call("Unmount", "late") == {"reply": []}
