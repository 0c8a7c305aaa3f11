"""Runs a command on a pseudo-terminal inside the container, as a person at a
terminal would, and prints {"output": ..., "status": ...} as JSON.

usage: on_terminal.py [--password-on PROMPT TEXT] [--sigint-on PROMPT] -- COMMAND...

--password-on types TEXT (with \\n for Enter) once the output shows PROMPT
and the terminal has stopped echoing: not before, since a password prompt
discards what was typed before it turned echo off;
--sigint-on sends SIGINT to the command's process group, as Ctrl-C does,
once the output shows PROMPT.
The command's exit status is reported as the shell would (128+N for a signal).
"""

import json
import os
import select
import signal
import sys
import termios
import time


def echoes(terminal):
    """Whether the terminal at path TERMINAL echoes what is typed."""
    fd = os.open(terminal, os.O_RDWR | os.O_NOCTTY)
    try:
        return bool(termios.tcgetattr(fd)[3] & termios.ECHO)
    finally:
        os.close(fd)


def main():
    args = sys.argv[1:]
    password, sigint_on = None, None
    while args and args[0] != "--":
        if args[0] == "--password-on":
            password = (args[1].encode(), args[2].encode().decode("unicode_escape").encode())
            args = args[3:]
        elif args[0] == "--sigint-on":
            sigint_on = args[1].encode()
            args = args[2:]
        else:
            sys.exit("unknown option " + args[0])
    command = args[1:]

    fd, terminal = os.openpty()
    name = os.ttyname(terminal)
    pid = os.fork()
    if pid == 0:
        os.close(fd)
        os.login_tty(terminal)
        os.environ["COLUMNS"] = "80"
        os.execvp(command[0], command)
    os.close(terminal)
    start = time.monotonic()
    output = b""
    status = None
    while True:
        now = time.monotonic() - start
        if password is not None and password[0] in output and not echoes(name):
            os.write(fd, password[1])
            password = None
        if sigint_on is not None and sigint_on in output:
            os.killpg(os.getpgid(pid), signal.SIGINT)
            sigint_on = None
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            output += data
        if now > 120:
            os.kill(pid, signal.SIGKILL)
    _, raw = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(raw)
    status = 128 - status if status < 0 else status
    print(json.dumps({"output": output.decode("utf-8", "replace"), "status": status}))


main()
