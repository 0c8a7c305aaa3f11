#!/usr/bin/python3
"""The web app's run_sandboxed_script(), on left4me_builder.

It used to run a sudo helper and a `journalctl --follow` sidecar to stream
the output, losing lines to the journal's rate limit. Now the daemon runs
the script in its sandbox and the client streams every line; the job-worker
thread needs the left4me group and /usr/share/doc/left4me-builderd/examples/
50-left4me-builder.rules (polkit), and no sudo.

    python3 run_sandboxed_script.py OVERLAY 'echo hello'
"""

import sys

from left4me_builder import Builder


def run_sandboxed_script(script, overlay, on_stdout, on_stderr, should_cancel):
    """Runs SCRIPT over OVERLAY, streaming its lines, and returns the Result
    (state, result, exit_status). SHOULD_CANCEL is polled every 0.2 s.
    Each line goes to ON_STDOUT or ON_STDERR, as the script wrote it."""
    with Builder() as builder:
        job = builder.start_build(overlay, script)
        return job.follow(on_stdout, should_cancel=should_cancel, on_stderr=on_stderr)


if __name__ == "__main__":
    result = run_sandboxed_script(sys.argv[2], sys.argv[1], print, lambda text: print(text, file=sys.stderr),
                                  lambda: False)
    print(result, file=sys.stderr)
    sys.exit(0 if result.succeeded else 1)
