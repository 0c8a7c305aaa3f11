"""A directory swapped for a symlink and back, over and over, for race tests.

Each swap is one renameat2(RENAME_EXCHANGE) of the directory and a symlink
beside it, so that whatever looks at the path finds the directory or the
symlink, never nothing: a refusal in such a race is for the symlink."""

import contextlib
import subprocess

SWAPPER = """
import ctypes, os, sys, time
path, target, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
link = path + ".swap"
os.symlink(target, link)
libc = ctypes.CDLL(None, use_errno=True)
def exchange():
    if libc.renameat2(-100, path.encode(), -100, link.encode(), 2) != 0:  # AT_FDCWD, RENAME_EXCHANGE
        raise OSError(ctypes.get_errno(), "renameat2")
swaps, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    exchange()
    swaps += 1
    time.sleep(0.0002)
if os.path.islink(path):
    exchange()
os.unlink(link)
print(swaps)
"""


@contextlib.contextmanager
def swapping_for_a_symlink(svc, path, target, seconds=10):
    """For about SECONDS, swaps the directory PATH (in the container) with a
    symlink to TARGET; after the block, PATH is the directory again."""
    swapper = subprocess.Popen(["nsenter", "-t", str(svc.c.pid), "-a", "--", "/usr/bin/python3", "-c", SWAPPER,
                                path, target, str(seconds)], stdout=subprocess.PIPE, text=True)
    try:
        yield
    finally:
        out, _ = swapper.communicate(timeout=seconds + 30)
    assert swapper.returncode == 0 and int(out) > 1000, f"the swapper did not swap: {out!r}"
