"""What a build's script sees, writes and reaches on the host, line by line
as SECURITY.md states it, probed from inside real builds."""

import re
import time

CTL = "left4me-builderctl"

# socket(AF_UNIX), the system bus by path, an abstract socket and a
# socketpair, from inside the sandbox.
UNIX_PROBE = r"""
python3 - <<'EOF'
import errno, socket
def attempt(name, fn):
    try:
        fn()
        print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
def connect(address):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(address)
attempt("unix-socket", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
attempt("system-bus", lambda: connect("/run/dbus/system_bus_socket"))
attempt("journal", lambda: connect("/run/systemd/journal/stdout"))
attempt("abstract", lambda: connect("\0left4me-test-abstract"))
attempt("socketpair", lambda: socket.socketpair())
EOF
find / \( -path /proc -o -path /sys \) -prune -o -type s -print 2>/dev/null | sed 's/^/socket /'
"""

# Everything the sandbox may write, found by asking the kernel (access(W_OK),
# which says EROFS for read-only mounts) about every directory, file, socket
# and FIFO outside /proc and /sys; /overlay is its own and pruned.
WRITABLE_PROBE = r"""
find / \( -path /proc -o -path /sys -o -path /overlay \) -prune -o \
  \( -type d -o -type f -o -type s -o -type p \) -writable -print 2>/dev/null | sort
"""


def start(svc, overlay, script, options=()):
    svc.overlay(overlay)
    return svc.c.run([CTL, "build", overlay, "-", "--no-follow"] + list(options), input=script).stdout.strip()


def wait_for_line(svc, job, pattern, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = svc.c.run([CTL, "log", job]).stdout
        found = re.search(pattern, log, re.M)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"job {job} never printed {pattern!r}")


def test_a_build_can_make_no_unix_socket_so_no_host_socket_path_or_abstract_is_reachable(svc):
    svc.c.run(["systemd-run", "--unit=l4m-abstract", "/usr/bin/python3", "-c",
               "import socket,time; s=socket.socket(socket.AF_UNIX); s.bind('\\0left4me-test-abstract'); "
               "s.listen(); time.sleep(120)"])
    try:
        # Outside the sandbox both answer.
        svc.wait_for(lambda: svc.c.run(["/usr/bin/python3", "-c", "import socket; s=socket.socket(socket.AF_UNIX); "
                                        "s.connect('\\0left4me-test-abstract')"], check=False).returncode == 0,
                     what="the abstract listener")
        svc.overlay("unix")
        out = svc.build("unix", UNIX_PROBE)
        assert out["properties"]["State"] == "succeeded", out
        assert out["lines"] == ["unix-socket EAFNOSUPPORT", "system-bus EAFNOSUPPORT", "journal EAFNOSUPPORT",
                                "abstract EAFNOSUPPORT", "socketpair ok"]
    finally:
        svc.c.run(["systemctl", "stop", "l4m-abstract"], check=False)


def test_a_build_writes_only_its_overlay_and_private_tmp_and_shm(svc):
    svc.overlay("writes")
    out = svc.build("writes", WRITABLE_PROBE + "touch /tmp/t /var/tmp/t /dev/shm/t && echo made\n"
                    "ls -A /run; ls -A /var/lib; ls -A /home 2>/dev/null; true\n")
    assert out["properties"]["State"] == "succeeded", out
    assert out["lines"] == ["/dev/shm", "/tmp", "/var/tmp", "made", "left4me-build", "systemd"]
    # Those three are the build's own: nothing reached the host's.
    assert svc.c.run(["test", "-e", "/dev/shm/t"], check=False).returncode != 0
    assert svc.c.sh("ls /tmp/t /var/tmp/t 2>/dev/null; true").stdout == ""


def test_builds_can_neither_see_nor_signal_nor_write_each_other(svc):
    first = start(svc, "first", "umask 077; echo secret > left4me-secret-of-first\n"
                                "sleep 30 & echo \"pid $!\"; wait\n")
    victim = wait_for_line(svc, first, r"^pid (\d+)$").group(1)
    probe = f"""
kill -0 {victim} 2>/dev/null && echo signal-reached || echo signal-refused
cat /proc/{victim}/environ >/dev/null 2>&1 && echo proc-readable || echo proc-hidden
ls /run/left4me-builder 2>/dev/null && echo jobs-visible || echo jobs-hidden
find / \\( -path /proc -o -path /sys \\) -prune -o -name left4me-secret-of-first -print 2>/dev/null | grep -v '^/overlay/' || echo no-private-file
touch /run/lock/from-second 2>/dev/null && echo run-lock-written || echo run-lock-refused
"""
    try:
        svc.overlay("second")
        out = svc.build("second", probe)
        assert out["lines"] == ["signal-refused", "proc-hidden", "jobs-hidden", "no-private-file",
                                "run-lock-refused"]
        assert svc.c.run(["test", "-e", "/run/lock/from-second"], check=False).returncode != 0
        # The first build never noticed: it is still running, its file intact.
        assert svc.c.run([CTL, "--json", "status", first]).stdout.count('"running"') == 1
    finally:
        svc.c.run([CTL, "cancel", first], check=False)


def test_io_uring_is_refused_to_the_sandbox(svc):
    """io_uring's requests run in the kernel past seccomp: an OPENAT there
    made a setuid file despite RestrictSUIDSGID=, and a SOCKET made a
    netlink socket despite RestrictAddressFamilies=."""
    svc.overlay("uring")
    out = svc.build("uring", r"""python3 - <<'EOF'
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 8, params)  # io_uring_setup(8, &params)
print("io_uring_setup", fd if fd >= 0 else errno.errorcode[ctypes.get_errno()])
EOF
""")
    assert out["lines"] == ["io_uring_setup EPERM"]


def test_the_callers_environment_reaches_the_script_and_never_the_relay(svc):
    """LD_PRELOAD and its kind in the environment option used to load into
    left4me-build-run itself, which then wrote whatever it was made to into
    the log: a forged stderr line, or past max_log_bytes."""
    path = svc.overlay("preload")
    svc.c.write(f"{path}/forge.c", r"""
#include <unistd.h>
__attribute__((constructor)) static void forge(void) { write(1, "\x1e" "forged stderr line\n", 20); }
""")
    svc.c.run(["gcc", "-shared", "-fPIC", "-o", f"{path}/forge.so", f"{path}/forge.c"])
    svc.c.run(["chown", "left4me:", f"{path}/forge.so"])
    out = svc.build("preload", "echo \"MAP=$MAP\"\n", options={"environment": [
        "LD_PRELOAD=/overlay/forge.so", "GLIBC_TUNABLES=glibc.malloc.perturb=85", "MAP=c1m1_hotel"]})
    assert out["properties"]["State"] == "succeeded", out
    # The library loads into the script's shell, whose output the relay
    # marks as stdout (the mark byte itself becomes U+FFFD); the relay's own
    # writes stay its own.
    # Nothing else ran with them: neither the relay (whose ld.so would have
    # complained, the overlay not being there yet when it starts) nor the
    # unit's ExecStopPost=, which runs as root.
    assert out["lines"] == ["\ufffdforged stderr line", "MAP=c1m1_hotel"]


def test_the_relay_is_not_dumpable_before_it_starts_the_script(svc):
    """Same user as the script: while dumpable, the script could reach
    /proc/<relay>/fd (the log, unmarked), mem and environ."""
    trace = svc.c.run(["strace", "-f", "-e", "trace=prctl,clone,clone3,fork,vfork", "-o", "/dev/stdout",
                       "/usr/libexec/left4me-build-run", "/bin/true"]).stdout
    calls = [m.group(1) for m in re.finditer(r"\b(prctl\(PR_SET_DUMPABLE|clone3?|v?fork)\(?", trace)]
    assert calls and calls[0] == "prctl(PR_SET_DUMPABLE", trace
