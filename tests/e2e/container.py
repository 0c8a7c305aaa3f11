"""A throwaway systemd container for the end-to-end tests.

The machine's root, bind-mounted and covered by an overlay whose upper layer
lives on a tmpfs, boots under systemd-nspawn with the real systemd as PID 1,
a network namespace of its own, a real system bus and a bus-activated polkitd (see
../shared/notes/systemd-container.md). The build is installed into it with
`meson install`, so the tests drive exactly what a deployment runs. Nothing
the container does reaches the machine's own root.
"""

import os
import re
import secrets
import shlex
import signal
import subprocess
import tempfile
import time

MASKED = [
    "postgresql.service",
    "postgresql@15-main.service",
    "console-getty.service",
    "systemd-networkd-wait-online.service",
    # It would listen on port 22 of this machine's network namespace, which
    # the container shares; the remote tests start an sshd of their own.
    "ssh.service",
]


class CommandFailed(Exception):
    pass


class Container:
    def __init__(self, build_dir, source_dir):
        self.build_dir = os.path.abspath(build_dir)
        self.source_dir = os.path.abspath(source_dir)
        self.base = tempfile.mkdtemp(prefix="left4me-e2e-", dir="/run")
        self.lower = os.path.join(self.base, "lower")
        self.root = os.path.join(self.base, "root")
        self.nspawn = None
        self.pid = None

    # -- life cycle ---------------------------------------------------------
    def boot(self, timeout=60):
        for d in ("lower", "upper", "work", "root"):
            os.makedirs(os.path.join(self.base, d))
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", self.base + "/upper"], check=True)
        os.makedirs(self.base + "/upper/u")
        os.makedirs(self.base + "/upper/w")
        # The container's root is overlayfs, which can be neither an overlay's
        # upper layer nor idmapped: the instances' directories and the build
        # overlays live on a tmpfs bound in from outside, as they would on a
        # real disk, and it survives a reboot of the container.
        os.makedirs(self.base + "/upper/runtime")
        os.makedirs(self.base + "/upper/overlays")
        subprocess.run(["mount", "--bind", "/", self.lower], check=True)
        subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={self.lower},upperdir={self.base}/upper/u,workdir={self.base}/upper/w", self.root],
            check=True,
        )
        self._start(timeout)

    def reboot(self, timeout=60):
        """Powers the container off and boots it again on the same root."""
        self.run(["systemctl", "poweroff"], check=False)
        try:
            self.nspawn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise RuntimeError("the container did not power off within 30 s\n" + self._shutdown_report()) from None
        self._start(timeout)

    def _shutdown_report(self):
        """What a slow poweroff waits for: systemd's jobs and the console's
        last lines, which go when the container does."""
        try:
            jobs = self.run(["systemctl", "list-jobs", "--no-pager"], check=False, timeout=10).stdout
        except subprocess.TimeoutExpired:
            jobs = "(systemctl list-jobs did not answer in 10 s)\n"
        with open(self.console.name, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            console = f.read().decode(errors="replace")
        # Without colours, and with the lines that only tick a job's spinner
        # and seconds shown once, as the last of them.
        lines, keys = [], []
        for line in re.split(r"[\r\n]+", re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|[@-Z\\-_])", "", console)):
            key = re.sub(r"[\d* ]", "", line)
            if keys and key == keys[-1]:
                lines[-1] = line
            elif key:
                lines.append(line)
                keys.append(key)
        return f"systemd's jobs:\n{jobs}the console ends:\n" + "\n".join(lines[-25:])

    def _start(self, timeout):
        env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
        self.console = open(os.path.join(self.base, "console.log"), "ab")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "-D", self.root, "--boot", "--register=no", "--keep-unit",
             "--link-journal=no", "--uuid=" + secrets.token_hex(16), "--capability=all",
             "--system-call-filter=bpf",
             # A network namespace of its own, with only lo: whatever a test
             # sends (tests/e2e/netlab.py builds an internet in it) stays on
             # this machine, and the host's own services are out of reach.
             "--private-network",
             # Live views of the tree: the overlay's lower layer may show a
             # stale copy of files rewritten after it was mounted.
             "--bind-ro=" + self.source_dir, "--bind=" + self.build_dir,
             f"--bind={self.base}/upper/runtime:/var/lib/left4me/runtime",
             f"--bind={self.base}/upper/overlays:/var/lib/left4me/overlays", "--"] + [f"systemd.mask={u}" for u in MASKED],
            stdin=subprocess.DEVNULL, stdout=self.console, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise RuntimeError("systemd-nspawn exited early; see " + self.console.name)
            children = subprocess.run(["pgrep", "-P", str(self.nspawn.pid)], capture_output=True, text=True)
            if children.stdout.strip():
                self.pid = int(children.stdout.split()[0])
                state = self.run(["systemctl", "is-system-running"], check=False).stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.2)
        raise RuntimeError("the container did not finish booting in time; see " + self.console.name)

    def poweroff(self):
        if self.nspawn is not None and self.nspawn.poll() is None:
            self.run(["systemctl", "poweroff"], check=False)
            try:
                self.nspawn.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.nspawn.pid, signal.SIGKILL)
                self.nspawn.wait()
        for path in (self.root, self.lower, self.base + "/upper"):
            subprocess.run(["umount", "-l", path], check=False, stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", "--one-file-system", self.base], check=False)

    # -- commands -----------------------------------------------------------
    def command(self, argv, user=None, env=None):
        """The host's command line that runs ARGV inside the container, as
        root or as USER (with its groups)."""
        if user is not None:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--reset-env", "--"] + list(argv)
        if env:
            argv = ["env"] + [f"{k}={v}" for k, v in env.items()] + list(argv)
        return ["nsenter", "-t", str(self.pid), "-a", "--"] + list(argv)

    def run(self, argv, user=None, check=True, input=None, timeout=120, env=None):
        """Runs ARGV inside the container, as root or as USER (with its groups)."""
        result = subprocess.run(self.command(argv, user, env), capture_output=True, text=True, input=input,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise CommandFailed(
                f"{shlex.join(argv)} exited {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def popen(self, argv, user=None, env=None):
        """Starts ARGV inside the container and returns at once; its stdout
        and stderr are pipes."""
        return subprocess.Popen(self.command(argv, user, env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def sh(self, script, **kwargs):
        return self.run(["sh", "-c", script], **kwargs)

    def write(self, path, content, mode=0o644):
        self.sh(f"mkdir -p {shlex.quote(os.path.dirname(path))} && cat > {shlex.quote(path)} && chmod {mode:o} {shlex.quote(path)}",
                input=content)

    # -- the service under test ---------------------------------------------
    def install(self):
        self.run(["meson", "install", "-C", self.build_dir, "--no-rebuild", "--quiet"])
        self.run(["systemd-sysusers"])
        self.run(["systemd-tmpfiles", "--create", "--prefix=/var/lib/left4me", "--prefix=/var/lib/left4me-builder",
                  "--prefix=/run/left4me-builder", "--prefix=/etc/left4me"], check=False)
        self.run(["systemctl", "daemon-reload"])
        self.run(["busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "ReloadConfig"])
