"""The VM tier's one session: the VM boots once, runs every check in
checks.py, and each test file judges the reports of its own checks.

The image is debootstrapped once by build-image and cached in
/var/cache/left4me-builder-vm/ (about 100 s cold); a warm run, image copy,
install, boot, checks and power-off, took about 45 s on an idle two-core
machine (94 s with its load average at 15) before the add-on unit check,
which adds about 30 s (28 and 33 s with the load average at 4 to 5).
"""

import os
import shutil

import pytest

from vm import VM, image

HERE = os.path.dirname(os.path.abspath(__file__))
# Generous: TCG on a loaded two-core machine. The VM powers itself off when the
# checks are done, so a good run never waits for this.
BOOT_TIMEOUT = 900


@pytest.fixture(scope="session")
def reports():
    if os.geteuid() != 0:
        pytest.skip("the VM tier loop-mounts an image and needs root")
    for tool in ("qemu-system-x86_64", "debootstrap", "mkfs.ext4"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing (tools/install-deps installs it)")
    build_dir = os.environ.get("LEFT4ME_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
    machine = VM(build_dir, image())
    try:
        machine.prepare()
        found, seconds = machine.run(BOOT_TIMEOUT)
        print(f"boot, checks and power-off: {seconds:.0f} s")
        for report in found:
            print(report)
        assert any(r["check"] == "done" for r in found), f"the checks did not finish; see {machine.console}"
        yield found
    finally:
        machine.remove(keep_console_in=os.path.join(build_dir, "meson-logs"))


def all_of(reports, check):
    """The reports of CHECK; a check that raised fails here with its traceback."""
    matching = [r for r in reports if r["check"] == check]
    for r in matching:
        assert "error" not in r, r["error"]
    return matching


def one(reports, check):
    matching = all_of(reports, check)
    assert len(matching) == 1, f"{check}: {matching}"
    return matching[0]
