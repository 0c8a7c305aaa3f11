"""ApplyCaps against the real daemon: file capabilities on staged add-on
binaries, set on the checked fd, with atomic activation and rollback."""

import json

import pytest

from conftest import ERROR

ADDONS = "/var/lib/left4me/addons"
PYTHON = "/usr/bin/python3.11"
RAW_SOCKET = "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print('raw ok')"


@pytest.fixture
def addon(svc):
    svc.c.sh(f"rm -rf {ADDONS}/probe && mkdir -p {ADDONS}/probe/versions/1.0/bin {ADDONS}/probe/versions/2.0/bin && "
             f"cp {PYTHON} {ADDONS}/probe/versions/1.0/bin/probe && cp {PYTHON} {ADDONS}/probe/versions/2.0/bin/probe && "
             f"chmod 0755 {ADDONS}/probe/versions/*/bin/probe")
    return f"{ADDONS}/probe"


def getcap(svc, path):
    out = svc.c.run(["getcap", path]).stdout.strip()
    return out.split(" ", 1)[1] if " " in out else ""


def xattr(svc, path):
    return svc.c.run(["getfattr", "--absolute-names", "-n", "security.capability", "-e", "hex", path],
                     check=False).stdout


def caps_anywhere(svc):
    """Every file under the add-ons root and the usual victims that has file capabilities."""
    return svc.c.sh(f"getcap -r {ADDONS} /usr/bin/ping {PYTHON} 2>/dev/null; true").stdout


@pytest.mark.quick
def test_allowed_capabilities_are_set_as_ep_and_work_for_an_unprivileged_user(svc, addon):
    assert svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_net_raw", "CAP_BPF"], {}) == {"reply": []}
    assert getcap(svc, f"{addon}/versions/1.0/bin/probe") == "cap_net_raw,cap_bpf=ep"
    # The plain version-2 form (magic 0x02000001 little-endian, no rootid):
    # what every consumer reads, as written through a mount that is not idmapped.
    assert "security.capability=0x01000002" in xattr(svc, f"{addon}/versions/1.0/bin/probe")
    ran = svc.c.run([f"{addon}/versions/1.0/bin/probe", "-c", RAW_SOCKET], user="alice")
    assert ran.stdout.strip() == "raw ok"
    # The other version got nothing, and cannot.
    refused = svc.c.run([f"{addon}/versions/2.0/bin/probe", "-c", RAW_SOCKET], user="alice", check=False)
    assert refused.returncode != 0 and "PermissionError" in refused.stderr
    journal = svc.c.run(["journalctl", "MESSAGE_ID=3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a54", "-o", "json", "-n", "1",
                         "--no-pager"]).stdout
    entry = json.loads(journal)
    assert entry["LEFT4ME_CAPS_NEW"] == "cap_net_raw,cap_bpf=ep"
    assert entry["LEFT4ME_CAPS_OLD"] == ""
    assert entry["LEFT4ME_CALLER_UID"] == "0"


@pytest.mark.quick
def test_a_capability_outside_the_allowlist_is_refused_and_the_xattr_is_unchanged(svc, addon):
    binary = f"{addon}/versions/1.0/bin/probe"
    svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_net_raw"], {})
    before = xattr(svc, binary)
    assert "0x" in before
    answer = svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_net_raw", "cap_sys_admin"], {})
    assert answer["error"] == ERROR + "CapabilityNotAllowed"
    assert "cap_sys_admin" in answer["message"]
    assert xattr(svc, binary) == before


@pytest.mark.quick
def test_an_unknown_capability_name_is_invalid(svc, addon):
    answer = svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_make_coffee"], {})
    assert answer["error"] == ERROR + "InvalidArgument"
    assert "cap_make_coffee" in answer["message"]


@pytest.mark.quick
@pytest.mark.parametrize("prepare,args,rule", [
    ("ln -s probe versions/1.0/bin/link", ["1.0", "bin/link"], "symlink"),
    ("ln -s 1.0 versions/linked", ["linked", "bin/probe"], "symlink"),
    ("ln /usr/bin/ping versions/1.0/bin/ping", ["1.0", "bin/ping"], "hard links"),
    ("chmod g+w versions/1.0/bin/probe", ["1.0", "bin/probe"], "writable by its group"),
    ("mkfifo versions/1.0/bin/fifo", ["1.0", "bin/fifo"], "regular file"),
    ("mkdir versions/1.0/bin/dir", ["1.0", "bin/dir"], "regular file"),
    ("chown alice versions/1.0/bin/probe", ["1.0", "bin/probe"], "owned by root"),
    ("chmod u+s versions/1.0/bin/probe", ["1.0", "bin/probe"], "setuid"),
    ("true", ["1.0", "bin/missing"], "does not exist"),
    ("true", ["..", "bin/probe"], "version"),
    ("true", ["1.0", "../../../../../usr/bin/ping"], "binary"),
])
def test_unsafe_binaries_are_refused_and_nothing_gains_capabilities(svc, addon, prepare, args, rule):
    svc.c.sh(f"cd {addon} && {prepare}")
    before = caps_anywhere(svc)
    answer = svc.call("ApplyCaps", "probe", args[0], args[1], ["cap_net_raw"], {})
    assert answer["error"] == ERROR + "InvalidArgument", answer
    assert rule in answer["message"]
    assert caps_anywhere(svc) == before


def test_a_symlink_swap_race_never_gives_the_target_capabilities(svc, addon):
    bin_dir = f"{addon}/versions/1.0/bin"
    svc.c.sh(f"cp /usr/bin/true {bin_dir}/real && chmod 0755 {bin_dir}/real")
    swapper = (f"cd {bin_dir}; end=$((SECONDS+10)); while [ $SECONDS -lt $end ]; do "
               f"ln -sfn {PYTHON} swap.l; mv -T swap.l target; cp real swap.f; mv -T swap.f target; done")
    caller = ("import subprocess, time\n"
              "end = time.monotonic() + 10; n = 0; ok = 0\n"
              "while time.monotonic() < end:\n"
              "    r = subprocess.run(['busctl', 'call', 'org.left4me.Builder', '/org/left4me/Builder',\n"
              "        'org.left4me.Builder', 'ApplyCaps', 'sssasa{sv}', 'probe', '1.0', 'bin/target',\n"
              "        '1', 'cap_net_raw', '0'], capture_output=True)\n"
              "    n += 1; ok += r.returncode == 0\n"
              "print(n, ok)\n")
    import subprocess
    swap = subprocess.Popen(["nsenter", "-t", str(svc.c.pid), "-a", "--", "bash", "-c", swapper])
    calls, applied = map(int, svc.c.run(["/usr/bin/python3", "-c", caller], timeout=60).stdout.split())
    swap.wait(timeout=30)
    assert calls > 20
    assert 0 < applied < calls, "the race must hit both the file and the symlink"
    assert svc.c.sh(f"getcap {PYTHON}").stdout.strip() == ""
    assert svc.c.sh("getcap /usr/bin/true").stdout.strip() == ""


def test_a_binary_with_capabilities_is_roots_and_its_owner_cannot_rewrite_it(svc, addon):
    """Writing through a shared mapping does not clear security.capability
    (only write() does): a binary its owner could write kept its
    capabilities while the owner put other code in it. Capabilities now go
    on a root-owned, read-only copy that no one else ever had open, so a
    mapping made before the call writes into the old file, not the capable
    one."""
    binary = f"{addon}/versions/1.0/bin/probe"
    svc.c.run(["chown", "-R", "left4me:", addon])
    before = svc.c.run(["sha256sum", binary]).stdout.split()[0]
    holder = svc.c.sh(
        f"setpriv --reuid=left4me --regid=left4me --init-groups {PYTHON} -c '"
        "import mmap, os, sys, time\n"
        f"f = open(\"{binary}\", \"r+b\"); m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED)\n"
        "print(\"mapped\", flush=True)\n"
        "while not os.path.exists(\"/tmp/rewrite\"): time.sleep(0.05)\n"
        "m[-1] ^= 0xff; m.flush(); print(\"rewritten\", flush=True)\n"
        "' > /tmp/holder.out 2>&1 & echo $!").stdout.strip()
    svc.wait_for(lambda: "mapped" in svc.c.run(["cat", "/tmp/holder.out"]).stdout, what="the mapping")
    assert svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_net_raw"], {}) == {"reply": []}
    svc.c.run(["touch", "/tmp/rewrite"])
    svc.wait_for(lambda: "rewritten" in svc.c.run(["cat", "/tmp/holder.out"]).stdout, what="the owner's write")
    svc.c.run(["rm", "-f", "/tmp/rewrite"])
    svc.c.run(["kill", holder], check=False)
    # The capable file is the one checked, unchanged, and only root may write it.
    assert svc.c.run(["sha256sum", binary]).stdout.split()[0] == before
    assert getcap(svc, binary) == "cap_net_raw=ep"
    assert svc.c.run(["stat", "-c", "%U %a", binary]).stdout.split() == ["root", "555"]
    refused = svc.c.run([PYTHON, "-c", f"open('{binary}', 'r+b')"], user="left4me", check=False)
    assert "PermissionError" in refused.stderr
    # Its owner and everyone else still run it; nothing was left beside it.
    assert svc.c.run([binary, "-c", RAW_SOCKET], user="alice").stdout.strip() == "raw ok"
    assert svc.c.run(["ls", "-A", f"{addon}/versions/1.0/bin"]).stdout.split() == ["probe"]


def test_activate_moves_current_atomically_and_keeps_the_previous_version(svc, addon):
    assert svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_net_raw"], {"activate": True}) == {"reply": []}
    assert svc.c.run(["readlink", f"{addon}/current"]).stdout.strip() == "versions/1.0"
    # A reader that never sees `current` missing while versions flip.
    import subprocess
    watch = subprocess.Popen(["nsenter", "-t", str(svc.c.pid), "-a", "--", "bash", "-c",
                              f"end=$((SECONDS+3)); m=0; while [ $SECONDS -lt $end ]; do "
                              f"[ -L {addon}/current ] || m=$((m+1)); done; echo $m"],
                             stdout=subprocess.PIPE, text=True)
    for i in range(10):
        version = "2.0" if i % 2 == 0 else "1.0"
        assert svc.call("ApplyCaps", "probe", version, "bin/probe", ["cap_net_raw"], {"activate": True}) == \
            {"reply": []}
    out, _ = watch.communicate(timeout=30)
    assert out.strip() == "0"
    assert svc.c.run(["readlink", f"{addon}/current"]).stdout.strip() == "versions/1.0"
    assert svc.c.run(["test", "-d", f"{addon}/versions/2.0"]).returncode == 0
    assert svc.c.sh(f"ls -A {addon}").stdout.split() == ["current", "versions"]


@pytest.mark.quick
def test_a_failed_activation_restores_current_and_the_previous_capabilities(svc, addon):
    binary = f"{addon}/versions/2.0/bin/probe"
    svc.call("ApplyCaps", "probe", "2.0", "bin/probe", ["cap_bpf"], {})
    before = xattr(svc, binary)
    svc.c.sh(f"mkdir {addon}/current && touch {addon}/current/keep")
    answer = svc.call("ApplyCaps", "probe", "2.0", "bin/probe", ["cap_net_raw"], {"activate": True})
    assert answer["error"] == ERROR + "Failed"
    # Found before anything is touched: the intent records where `current` pointed.
    assert "current" in answer["message"] and "nothing was changed" in answer["message"]
    assert xattr(svc, binary) == before
    assert svc.c.run(["test", "-f", f"{addon}/current/keep"]).returncode == 0
    assert svc.c.sh(f"ls -A {addon}").stdout.split() == ["current", "versions"]


@pytest.mark.quick
def test_activation_replaces_a_current_link_whose_target_is_not_utf8(svc, addon):
    # The intent records the old target; a link's target is bytes, not text.
    svc.c.run([PYTHON, "-c", f"import os; os.symlink(b'versions/\\xff', b'{addon}/current')"])
    assert svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_net_raw"], {"activate": True}) == {"reply": []}
    assert svc.c.run(["readlink", f"{addon}/current"]).stdout.strip() == "versions/1.0"
    assert getcap(svc, f"{addon}/versions/1.0/bin/probe") == "cap_net_raw=ep"
    assert svc.c.sh(f"ls -A {addon}").stdout.split() == ["current", "versions"]


@pytest.mark.quick
def test_an_empty_list_clears_every_capability(svc, addon):
    binary = f"{addon}/versions/1.0/bin/probe"
    svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_net_raw", "cap_perfmon"], {})
    assert getcap(svc, binary) != ""
    assert svc.call("ApplyCaps", "probe", "1.0", "bin/probe", [], {}) == {"reply": []}
    assert getcap(svc, binary) == ""
    assert xattr(svc, binary) == ""


@pytest.mark.quick
def test_an_unprivileged_caller_is_denied_and_nothing_changes(svc, addon):
    before = caps_anywhere(svc)
    for user in ("alice", "bob"):  # bob's group may build, not apply capabilities
        answer = svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_net_raw"], {"activate": True}, user=user)
        assert answer["error"] == ERROR + "NotAuthorized"
    assert caps_anywhere(svc) == before
    assert svc.c.run(["test", "-e", f"{addon}/current"], check=False).returncode != 0


@pytest.mark.quick
def test_the_shipped_caps_rules_example_grants_only_its_dedicated_group(svc, addon):
    with svc.polkit_reload():
        svc.c.run(["cp", "/usr/share/doc/left4me-builderd/examples/60-left4me-builder-caps.rules",
                   "/etc/polkit-1/rules.d/60-test-caps.rules"])
    svc.c.run(["groupadd", "-f", "left4me-caps"])
    svc.c.run(["gpasswd", "-a", "alice", "left4me-caps"])
    try:
        assert svc.call("ApplyCaps", "probe", "1.0", "bin/probe", ["cap_net_raw"], {}, user="alice") == {"reply": []}
        assert svc.call("ApplyCaps", "probe", "1.0", "bin/probe", [], {}, user="bob")["error"] == \
            ERROR + "NotAuthorized"
        assert svc.call("StartBuild", "demo", "true", {}, user="alice")["error"] == ERROR + "NotAuthorized"
    finally:
        svc.c.run(["gpasswd", "-d", "alice", "left4me-caps"])
