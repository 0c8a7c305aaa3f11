#!/usr/bin/python3
"""Runs one stand-in build: `bash -c SCRIPT` with stdout and stderr relayed
line by line into JOB_DIR/log (stderr lines marked with 0x1E, as the
daemon's relay marks them), then JOB_DIR/status.json. SIGTERM (Cancel)
stops bash's process group. It lives in a session of its own, so it
outlives the stand-in service that started it.

    runner.py JOB_DIR"""

import json
import os
import selectors
import signal
import subprocess
import sys
import time

MARK = b"\x1e"
PROGRESS_HELPER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "builds")


def main():
    job_dir = sys.argv[1]
    bash = None
    terminated = []

    def terminate(*_):
        terminated.append(True)
        if bash is not None:
            os.killpg(bash.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, terminate)
    # The stand-in ignores SIGCHLD, and an ignored signal stays ignored
    # across exec: bash's exit status would be lost.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    with open(os.path.join(job_dir, "runner.pid"), "w") as f:
        f.write(str(os.getpid()))
    if terminated or os.path.exists(os.path.join(job_dir, "cancel")):
        return finish(job_dir, 143, signal.SIGTERM)
    env = dict(os.environ, PATH=f"{PROGRESS_HELPER_DIR}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    bash = subprocess.Popen(["bash", "-c", open(os.path.join(job_dir, "script")).read()], cwd=job_dir, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    if terminated:  # before bash was there to stop
        os.killpg(bash.pid, signal.SIGTERM)
    selector = selectors.DefaultSelector()
    selector.register(bash.stdout, selectors.EVENT_READ, b"")
    selector.register(bash.stderr, selectors.EVENT_READ, MARK)
    partial = {b"": b"", MARK: b""}
    with open(os.path.join(job_dir, "log"), "ab", buffering=0) as log:
        while selector.get_map():
            for key, _ in selector.select():
                data = os.read(key.fileobj.fileno(), 1 << 16)
                mark = key.data
                if not data:
                    selector.unregister(key.fileobj)
                    if partial[mark]:
                        log.write(mark + partial[mark] + b"\n")
                    continue
                lines = (partial[mark] + data).split(b"\n")
                partial[mark] = lines.pop()
                if lines:
                    log.write(b"".join(mark + line + b"\n" for line in lines))
    status = bash.wait()
    finish(job_dir, status, -status if status < 0 else 0)


def finish(job_dir, status, killed_by):
    record = {"exit": status if status >= 0 else 128 - status, "signal": int(killed_by),
              "finished_at": int(time.time() * 1e6)}
    temporary = os.path.join(job_dir, "status.json.new")
    with open(temporary, "w") as f:
        json.dump(record, f)
    os.rename(temporary, os.path.join(job_dir, "status.json"))


if __name__ == "__main__":
    main()
