"""A throwaway Debian 12 virtual machine for the VM tier.

The cached image from build-image is copied, the build is installed into the
copy with `meson install --destdir` through a loop mount, together with the
users, directories and configuration a deployment has and the checks unit;
then qemu boots it with software emulation (TCG: nested KVM does not work on
these machines) and the checks report on the serial console until the VM
powers itself off. Nothing the VM does reaches the machine.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = "LEFT4ME-VM "
# allow_unenforced_limits false, as shipped: the point of this tier is that
# the limits are enforced, so the daemon must refuse builds if they were not.
CONFIG = {"allow_unenforced_limits": False}


def image():
    """The cached image's directory, built first if needed."""
    built = subprocess.run([os.path.join(HERE, "build-image")], check=True, capture_output=True, text=True)
    return built.stdout.strip().splitlines()[-1]


class VM:
    def __init__(self, build_dir, image_dir):
        self.build_dir = os.path.abspath(build_dir)
        self.image_dir = image_dir
        self.base = tempfile.mkdtemp(prefix="left4me-vm-", dir="/var/tmp")
        self.disk = os.path.join(self.base, "root.img")
        self.console = os.path.join(self.base, "console.log")

    def prepare(self):
        subprocess.run(["cp", "--sparse=always", os.path.join(self.image_dir, "root.img"), self.disk], check=True)
        root = os.path.join(self.base, "mnt")
        os.mkdir(root)
        subprocess.run(["mount", "-o", "loop", self.disk, root], check=True)
        try:
            self._install(root)
        finally:
            subprocess.run(["umount", root], check=True)

    def _install(self, root):
        subprocess.run(["meson", "install", "-C", self.build_dir, "--no-rebuild", "--quiet", "--destdir", root],
                       check=True, stdout=subprocess.DEVNULL)
        # What `systemd-sysusers && systemd-tmpfiles --create` does on a
        # deployment, done from outside: the users and directories of the
        # project's own sysusers.d and tmpfiles.d files.
        subprocess.run(["systemd-sysusers", "--root", root], check=True)
        subprocess.run(["systemd-tmpfiles", "--create", "--root", root, "--prefix=/var/lib/left4me",
                        "--prefix=/var/lib/left4me-builder", "--prefix=/etc/left4me"], check=True)
        with open(os.path.join(root, "etc/left4me/builder.json"), "w") as f:
            json.dump(CONFIG, f)
        os.makedirs(os.path.join(root, "usr/local/libexec"), exist_ok=True)
        shutil.copy(os.path.join(HERE, "checks.py"), os.path.join(root, "usr/local/libexec/left4me-vm-checks"))
        shutil.copy(os.path.join(HERE, "left4me-vm-checks.service"), os.path.join(root, "etc/systemd/system"))
        os.symlink("/etc/systemd/system/left4me-vm-checks.service",
                   os.path.join(root, "etc/systemd/system/multi-user.target.wants/left4me-vm-checks.service"))

    def run(self, timeout):
        """Boots the VM, waits until it has powered off, and returns the
        checks' reports, in order, plus the boot's wall time in seconds."""
        argv = [
            "qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", "2",
            "-kernel", os.path.join(self.image_dir, "vmlinuz"),
            "-initrd", os.path.join(self.image_dir, "initrd.img"),
            # Only the checks write to the console: no kernel or boot chatter
            # to interleave with their lines (the OOM killer's included).
            "-append", "root=/dev/vda rw console=ttyS0 loglevel=1 systemd.show_status=false",
            "-drive", f"file={self.disk},if=virtio,format=raw",
            "-nic", "none", "-nographic", "-no-reboot",
        ]
        began = time.monotonic()
        with open(self.console, "wb") as out:
            try:
                subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                               timeout=timeout, check=True)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"the VM did not power off within {timeout} s; see {self.console}")
        return self.reports(), time.monotonic() - began

    def reports(self):
        found = []
        with open(self.console, errors="replace") as f:
            for line in f:
                at = line.find(MARKER)
                if at >= 0:
                    found.append(json.loads(line[at + len(MARKER):]))
        return found

    def remove(self, keep_console_in=None):
        if keep_console_in and os.path.exists(self.console):
            shutil.copy(self.console, os.path.join(keep_console_in, "vm-console.log"))
        shutil.rmtree(self.base, ignore_errors=True)
