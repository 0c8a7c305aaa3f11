#!/usr/bin/python3
"""Runs a script in the sandbox the way the web app's job worker does, with
left4me_builder.run_sandboxed_script (which ships in the package):

    python3 run_sandboxed_script.py OVERLAY 'echo hello'

Ctrl-C cancels the build. The worker thread needs its user in the group
left4me (in /etc/group: polkit reads the user database) and
/usr/share/doc/left4me-builderd/examples/50-left4me-builder.rules in
/etc/polkit-1/rules.d/; no sudo. See the README's integration recipe for
storing lines by number and finding a build again after a redeploy."""

import sys
import threading

from left4me_builder import BuildError, run_sandboxed_script


def main(overlay, script):
    interrupted = threading.Event()
    try:
        run_sandboxed_script(overlay, script,
                             on_stdout=print,
                             on_stderr=lambda text: print(text, file=sys.stderr),
                             should_cancel=interrupted.is_set,
                             on_started=lambda job_id: print(f"job {job_id}", file=sys.stderr))
    except BuildError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
