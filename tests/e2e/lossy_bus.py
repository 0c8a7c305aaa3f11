"""A subscriber that misses a range of Log signals, for real.

Run inside the container, `lossy_bus.py --drop FIRST:END --ready FILE --
COMMAND...` runs COMMAND with DBUS_SYSTEM_BUS_ADDRESS pointing at a proxy
of the system bus. The proxy passes every byte through, except the Log
signals of org.left4me.Builder.Job whose first line is in [FIRST, END): the
client under test (the CLI, the Python client) misses them as it would
signals the bus dropped. It touches FILE once the client has sent its first
ReadLog (it has subscribed and begun its replay), and it notes every ReadLog
the client sends, so that a test can show the gap was filled by a ReadLog
from exactly where the loss began. At the end it prints, as JSON:
{"status", "sha256" and "lines" of COMMAND's stdout, "stderr", "dropped":
[[first, count], ...], "read_log_from": [from_line, ...]}.

The proxy connects as its own uid: run it as the user COMMAND should be.

From the tests, follow_through_a_gap() drives a build through it."""

import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

SYSTEM_BUS = "/run/dbus/system_bus_socket"
PYTHON = "/usr/bin/python3"  # the container's Debian python
JOB_INTERFACE = "org.left4me.Builder.Job"
METHOD_CALL, SIGNAL = 1, 4


def align(offset, n):
    return (offset + n - 1) // n * n


class Message:
    """The parts of one D-Bus message this proxy looks at."""

    def __init__(self, data):
        self.order = "<" if data[0:1] == b"l" else ">"
        self.type = data[1]
        body_length, _serial, fields_length = struct.unpack(self.order + "III", data[4:16])
        self.fields = {}
        offset, end = 16, 16 + fields_length
        while offset < end:
            offset = align(offset, 8)
            code = data[offset]
            signature_length = data[offset + 1]
            signature = data[offset + 2:offset + 2 + signature_length].decode()
            offset += 3 + signature_length
            if signature in ("s", "o"):
                offset = align(offset, 4)
                (length,) = struct.unpack(self.order + "I", data[offset:offset + 4])
                self.fields[code] = data[offset + 4:offset + 4 + length].decode()
                offset += 5 + length
            elif signature == "g":
                length = data[offset]
                self.fields[code] = data[offset + 1:offset + 1 + length].decode()
                offset += 2 + length
            else:  # u
                offset = align(offset, 4) + 4
        self.body = data[align(end, 8):align(end, 8) + body_length]

    @staticmethod
    def size(data):
        """The length of the message at the start of DATA, or None if its fixed header is incomplete."""
        if len(data) < 16:
            return None
        order = "<" if data[0:1] == b"l" else ">"
        body_length, _serial, fields_length = struct.unpack(order + "III", data[4:16])
        return align(16 + fields_length, 8) + body_length

    def is_(self, kind, interface, member):
        return self.type == kind and self.fields.get(2) == interface and self.fields.get(3) == member

    def first_u64(self):
        return struct.unpack(self.order + "Q", self.body[:8])[0]

    def string_array_length(self, offset):
        """How many strings the array at OFFSET of the body holds."""
        (size,) = struct.unpack(self.order + "I", self.body[offset:offset + 4])
        position, end, count = offset + 4, offset + 4 + size, 0
        while position < end:
            position = align(position, 4)
            (length,) = struct.unpack(self.order + "I", self.body[position:position + 4])
            position += 5 + length
            count += 1
        return count


class Direction:
    """One direction of one connection: the SASL lines pass as they are,
    then whole messages, each offered to FILTER (which returns whether it
    goes on)."""

    def __init__(self, to, filter, from_client):
        self.to = to
        self.filter = filter
        self.buffer = b""
        # The client opens with a NUL and ends its lines with BEGIN; the
        # bus answers with lines, and its first message starts with l or B.
        self.authenticating = True
        self.from_client = from_client

    def feed(self, data):
        self.buffer += data
        out = b""
        while self.authenticating and self.buffer:
            if self.from_client and self.buffer[:1] == b"\0":
                out += b"\0"
                self.buffer = self.buffer[1:]
                continue
            if not self.from_client and self.buffer[:1] in (b"l", b"B"):
                self.authenticating = False
                break
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            line, self.buffer = self.buffer[:end + 2], self.buffer[end + 2:]
            out += line
            if self.from_client and line == b"BEGIN\r\n":
                self.authenticating = False
        while not self.authenticating:
            size = Message.size(self.buffer)
            if size is None or len(self.buffer) < size:
                break
            data, self.buffer = self.buffer[:size], self.buffer[size:]
            if self.filter(Message(data)):
                out += data
        if out:
            self.to.sendall(out)


def pump(source, direction):
    """Passes what SOURCE sends on through DIRECTION until either side closes."""
    try:
        while True:
            data = source.recv(1 << 16)
            if not data:
                break
            direction.feed(data)
    except OSError:
        pass
    for sock in (source, direction.to):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def proxy_and_run(drop, ready, command):
    first, end = drop
    report = {"dropped": [], "read_log_from": []}
    directory = tempfile.mkdtemp(prefix="lossy-bus-")
    path = os.path.join(directory, "socket")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()

    def to_client(message):
        if message.is_(SIGNAL, JOB_INTERFACE, "Log") and first <= message.first_u64() < end:
            report["dropped"].append([message.first_u64(), message.string_array_length(8)])
            return False
        return True

    def to_bus(message):
        if message.is_(METHOD_CALL, JOB_INTERFACE, "ReadLog"):
            report["read_log_from"].append(message.first_u64())
            if ready and len(report["read_log_from"]) == 1:
                open(ready, "w").close()
        return True

    def accept():
        while True:
            client, _ = listener.accept()
            bus = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            bus.connect(SYSTEM_BUS)
            # One thread per direction: a client busy writing its output must
            # not stall what the bus sends it, nor the other way round.
            for source, direction in ((client, Direction(bus, to_bus, True)),
                                      (bus, Direction(client, to_client, False))):
                threading.Thread(target=pump, args=(source, direction), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + path)
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr = []
    reader = threading.Thread(target=lambda: stderr.append(child.stderr.read()), daemon=True)
    reader.start()
    digest, lines = hashlib.sha256(), 0
    while data := child.stdout.read(1 << 16):
        digest.update(data)
        lines += data.count(b"\n")
    reader.join()
    report.update(status=child.wait(), sha256=digest.hexdigest(), lines=lines,
                  stderr=stderr[0].decode(errors="replace")[-2000:])
    os.unlink(path)
    os.rmdir(directory)
    return report


def follow_through_a_gap(svc, overlay, count, command, drop=(1000, 50000)):
    """Starts a build of OVERLAY that prints `seq COUNT` once COMMAND (argv,
    with {job} for the job's id) follows it through the proxy, losing the
    Log signals whose first line is in DROP; returns the proxy's report."""
    path = svc.overlay(overlay)
    script = f"while [ ! -e {overlay}-go ]; do sleep 0.05; done; seq {count}\n"
    job = svc.c.run(["left4me-builderctl", "build", overlay, "-", "--no-follow"], input=script).stdout.strip()
    ready = f"/run/lossy-bus-ready-{job}"
    argv = [PYTHON, os.path.abspath(__file__), "--drop", f"{drop[0]}:{drop[1]}", "--ready", ready, "--"]
    argv += [a.replace("{job}", job) for a in command]
    full = ["nsenter", "-t", str(svc.c.pid), "-a", "--"] + argv
    follower = subprocess.Popen(full, stdout=subprocess.PIPE, text=True)
    try:
        svc.wait_for(lambda: svc.c.run(["test", "-e", ready], check=False).returncode == 0, timeout=30,
                     what="the follower to subscribe and replay")
        svc.c.run(["touch", f"{path}/{overlay}-go"])
        out, _ = follower.communicate(timeout=120)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
        svc.c.run(["rm", "-f", ready])
    return json.loads(out)


def assert_every_line_once_through_the_gap(report, count):
    """COMMAND printed exactly `seq COUNT`, although signals were lost, and
    it read the gap with ReadLog from the first line lost."""
    expected = hashlib.sha256("".join(f"{i}\n" for i in range(1, count + 1)).encode()).hexdigest()
    assert report["status"] == 0, report
    assert (report["lines"], report["sha256"]) == (count, expected), report
    assert report["dropped"], f"no Log signal fell in the dropped range, so no gap was made: {report}"
    assert report["dropped"][0][0] in report["read_log_from"], report
    lost = sum(n for _, n in report["dropped"])
    print(f"\n{len(report['dropped'])} Log signals ({lost} lines from line {report['dropped'][0][0]}) dropped; "
          f"ReadLog from {report['read_log_from']}")


def main():
    args = sys.argv[1:]
    drop, ready = (0, 0), None
    while args and args[0] != "--":
        if args[0] == "--drop":
            drop = tuple(int(n) for n in args[1].split(":"))
        elif args[0] == "--ready":
            ready = args[1]
        else:
            sys.exit("unknown option " + args[0])
        args = args[2:]
    print(json.dumps(proxy_and_run(drop, ready, args[1:])))


if __name__ == "__main__":
    main()
