"""Remote hosts and containers, the systemd way: left4me-builderctl -H and
-M, and the Python client's host= and machine=, over systemd-stdio-bridge.

sshd runs inside the test container on a loopback port of the container's
own network namespace, and the CLI and the Python client log in to it with
a key, as bob (in group left4me, granted by the example rules) or alice (a
plain user). They run in the container too, since nothing outside can
reach its namespace, but as a client on another host would: they talk to
the daemon only through ssh and the systemd-stdio-bridge it starts, never
through the container's bus. No traffic leaves the machine. -M reaches a container booted inside the test container, where
systemd-machined registers it."""

import json
import textwrap
import time

import pytest

from conftest import ERROR, PYTHON

RULES = "/usr/share/doc/left4me-builderd/examples/50-left4me-builder.rules"
SSHD_UNIT = "left4me-test-sshd.service"
INNER = "left4me-inner"


# The container's network namespace is its own: nothing else listens there.
PORT = 2222
# The client side: keys, known_hosts, ssh_config and an `ssh` that uses them.
CLIENT = "/root/left4me-remote"


class Remote:
    """The test container seen as a remote host: ssh keys, a known_hosts
    entry and an `ssh` that uses them, first on PATH for the clients."""

    def __init__(self, container):
        self.c = container
        self.port = PORT

    def start(self):
        c = self.c
        c.sh(f"rm -rf {CLIENT} && install -d -m 700 {CLIENT} {CLIENT}/bin && "
             f"ssh-keygen -q -t ed25519 -N '' -f {CLIENT}/id_ed25519")
        public = c.run(["cat", f"{CLIENT}/id_ed25519.pub"]).stdout
        for user in ("alice", "bob"):
            c.sh(f"install -d -m 700 -o {user} -g {user} /home/{user}/.ssh")
            c.write(f"/home/{user}/.ssh/authorized_keys", public, mode=0o600)
            c.run(["chown", f"{user}:{user}", f"/home/{user}/.ssh/authorized_keys"])
        c.sh("rm -f /etc/ssh/left4me-test-host-key*; "
             "ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/left4me-test-host-key")
        host_key = c.run(["cat", "/etc/ssh/left4me-test-host-key.pub"]).stdout.split()
        c.write(f"{CLIENT}/known_hosts", f"[127.0.0.1]:{self.port} {host_key[0]} {host_key[1]}\n")
        c.write("/etc/ssh/left4me-test-sshd.conf", textwrap.dedent(f"""\
            ListenAddress 127.0.0.1:{self.port}
            HostKey /etc/ssh/left4me-test-host-key
            AuthenticationMethods publickey
            PermitRootLogin no
            AllowUsers alice bob
            UsePAM yes
            """))
        c.write(f"{CLIENT}/ssh_config", textwrap.dedent(f"""\
            Host *
              IdentityFile {CLIENT}/id_ed25519
              IdentitiesOnly yes
              UserKnownHostsFile {CLIENT}/known_hosts
              GlobalKnownHostsFile /dev/null
              StrictHostKeyChecking yes
              BatchMode yes
            """))
        c.write(f"{CLIENT}/bin/ssh", f"#!/bin/sh\nexec /usr/bin/ssh -F {CLIENT}/ssh_config \"$@\"\n", mode=0o755)
        c.run(["systemd-run", f"--unit={SSHD_UNIT}", "--property=RuntimeDirectory=sshd",
               "/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/left4me-test-sshd.conf"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if c.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{self.port}"], check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("sshd did not listen in 10 s:\n" + c.run(
            ["journalctl", "-u", SSHD_UNIT, "--no-pager"], check=False).stdout)

    def stop(self):
        self.c.run(["systemctl", "stop", SSHD_UNIT], check=False)

    def host(self, user):
        return f"{user}@127.0.0.1:{self.port}"

    def env(self):
        return {"PATH": f"{CLIENT}/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

    def ctl(self, user, *args, input=None, timeout=120):
        """left4me-builderctl with -H USER@the container's sshd."""
        return self.c.run(["left4me-builderctl", "-H", self.host(user)] + list(args), input=input, env=self.env(),
                          timeout=timeout, check=False)

    def python(self, code, timeout=120):
        """CODE with the installed client; its last line of output as JSON."""
        run = self.c.run([PYTHON, "-c", textwrap.dedent(code)], env=self.env(), timeout=timeout, check=False)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout.splitlines()[-1])


def snapshot(svc):
    """svc.snapshot() without the logins' own mounts (pam_systemd's
    /run/user/UID), which come and go with the ssh sessions."""
    state = svc.snapshot()
    targets = (line.lstrip("│├└─ ") for line in state["mounts"].splitlines())
    state["mounts"] = sorted(target for target in targets if not target.startswith("/run/user/"))
    return state


@pytest.fixture(scope="module")
def remote(container):
    r = Remote(container)
    r.start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def granted(svc, remote):
    svc.c.run(["cp", RULES, "/etc/polkit-1/rules.d/50-test-left4me.rules"])
    time.sleep(0.5)  # polkitd reloads rules on an inotify event
    return remote


def test_a_remote_build_streams_its_whole_log_with_the_scripts_exit_status(svc, granted):
    svc.overlay("remote-build")
    script = "seq 0 19999\necho to stderr >&2\nexit 3\n"
    run = granted.ctl("bob", "build", "remote-build", "-", input=script)
    assert run.returncode == 3, run.stderr
    assert run.stdout.splitlines() == [str(i) for i in range(20000)]
    assert run.stderr == "to stderr\n"
    # The job is the container's, owned by the ssh user.
    jobs = json.loads(svc.c.run(["left4me-builderctl", "--json", "jobs", "--all"]).stdout)
    job = max((j for j in jobs if j["Overlay"] == "remote-build"), key=lambda j: j["Id"])
    assert (job["State"], job["ExitStatus"]) == ("failed", 3)
    assert job["Owner"] == int(svc.c.run(["id", "-u", "bob"]).stdout)
    listed = granted.ctl("bob", "jobs", "--all", "--no-legend")
    assert any(row.split()[:2] == [str(job["Id"]), "failed"] for row in listed.stdout.splitlines())


def test_the_python_client_builds_remotely_with_signals_and_readlog(svc, granted):
    svc.overlay("remote-python")
    result = granted.python(f"""
        import json
        from left4me_builder import Builder
        with Builder(host={granted.host("bob")!r}) as builder:
            job = builder.start_build("remote-python", "seq 0 49999; echo oops >&2; exit 5")
            lines = [[l.stream, l.text] for l in job.lines()]    # ReadLog, then Log signals
            replay = [[l.stream, l.text] for l in job.lines()]   # after the end: ReadLog alone
            result = job.wait()
        print(json.dumps({{"lines": lines, "replay": replay,
                          "result": [result.state, result.result, result.exit_status]}}))
        """)
    expected = [["stdout", str(i)] for i in range(50000)] + [["stderr", "oops"]]
    assert result["lines"] == expected and result["replay"] == expected
    assert result["result"] == ["failed", "exit-code", 5]


def test_the_plain_user_is_refused_remotely_as_locally(svc, granted):
    svc.overlay("remote-denied")
    svc.c.run(["systemctl", "start", "left4me-builderd.service"])
    before = snapshot(svc)
    remote = granted.ctl("alice", "build", "remote-denied", "-", input="touch /overlay/x\n")
    local = svc.c.run(["left4me-builderctl", "build", "remote-denied", "-"], user="alice", input="touch /overlay/x\n",
                      check=False)
    assert remote.returncode == local.returncode == 4, (remote, local)
    assert "org.left4me.builder.build" in remote.stderr
    assert remote.stderr == local.stderr
    python = granted.python(f"""
        import json
        from left4me_builder import Builder, BuilderError
        with Builder(host={granted.host("alice")!r}) as builder:
            try:
                builder.start_build("remote-denied", "touch /overlay/x")
            except BuilderError as error:
                print(json.dumps([type(error).__name__, error.name]))
        """)
    assert python == ["NotAuthorized", ERROR + "NotAuthorized"]
    assert snapshot(svc) == before


def test_a_password_prompt_over_h_fails_fast_and_never_hangs(svc, remote):
    """polkit asks about the ssh user on the remote host; its agent and
    terminal would be there, not here. A challenge is answered at once."""
    svc.overlay("remote-challenge")
    svc.c.write("/etc/polkit-1/rules.d/10-test-remote-challenge.rules",
                'polkit.addRule(function(action, subject) {\n'
                '  if (action.id == "org.left4me.builder.build" && subject.user == "alice")\n'
                '    return polkit.Result.AUTH_ADMIN;\n'
                '});\n')
    time.sleep(0.5)
    start = time.monotonic()
    run = remote.ctl("alice", "build", "remote-challenge", "-", input="true\n", timeout=60)
    assert run.returncode == 4 and "interactive" in run.stderr.lower(), run
    python = remote.python(f"""
        import json
        from left4me_builder import Builder, BuilderError
        with Builder(host={remote.host("alice")!r}) as builder:
            try:
                builder.start_build("remote-challenge", "true")
            except BuilderError as error:
                print(json.dumps(type(error).__name__))
        """, timeout=60)
    assert python == "InteractiveAuthorizationRequired"
    assert time.monotonic() - start < 15  # the daemon's polkit timeouts are 20 s and 300 s


def test_an_unreachable_host_is_an_error_not_a_hang(remote):
    start = time.monotonic()
    run = remote.ctl("nobody", "jobs", timeout=60)
    assert run.returncode == 1 and "left4me-builderctl:" in run.stderr, run
    assert "Permission denied" in run.stderr  # ssh's own word on it
    assert time.monotonic() - start < 15


@pytest.fixture(scope="module")
def inner(container):
    """A container inside the test container, registered with its
    systemd-machined, on a root that overlays the test container's (which
    has the build installed). Its overlays live on a tmpfs: they must be
    idmappable."""
    c = container
    c.sh(f"mkdir -p /var/tmp/{INNER}/lower /var/tmp/{INNER}/root /run/{INNER} && "
         f"mount -t tmpfs tmpfs /run/{INNER} && mkdir /run/{INNER}/upper /run/{INNER}/work && "
         f"mount --bind / /var/tmp/{INNER}/lower && "
         f"mount -t overlay overlay -o lowerdir=/var/tmp/{INNER}/lower,upperdir=/run/{INNER}/upper,"
         f"workdir=/run/{INNER}/work /var/tmp/{INNER}/root")
    masked = ["console-getty.service", "postgresql.service", "postgresql@15-main.service", "ssh.service"]
    c.run(["systemd-run", f"--unit={INNER}", "--property=Delegate=yes",
           "--setenv=SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1", "systemd-nspawn", "-D", f"/var/tmp/{INNER}/root",
           "--boot", f"--machine={INNER}", "--capability=all", "--system-call-filter=bpf",
           "--tmpfs=/var/lib/left4me/overlays", "--tmpfs=/var/lib/left4me-builder:mode=0700",
           "--"] + [f"systemd.mask={u}" for u in masked])
    try:
        deadline = time.monotonic() + 60
        while c.run(["systemctl", "-M", INNER, "is-system-running"], check=False).stdout.strip() not in (
                "running", "degraded"):
            assert time.monotonic() < deadline, "the inner container did not boot in 60 s"
            time.sleep(0.1)
        c.run(["systemd-run", "-M", INNER, "--wait", "--quiet", "sh", "-c",
               "mkdir -p /var/lib/left4me/overlays/inner && chown left4me: /var/lib/left4me/overlays/inner"])
        yield INNER
    finally:
        c.run(["machinectl", "poweroff", INNER], check=False)
        deadline = time.monotonic() + 20
        while c.run(["systemctl", "is-active", INNER], check=False).stdout.strip() in ("active", "deactivating"):
            if time.monotonic() > deadline:
                c.run(["systemctl", "kill", "--signal=KILL", INNER], check=False)
                break
            time.sleep(0.1)
        # Never rm through a mount that is still there: lower is this container's root.
        c.sh(f"umount /var/tmp/{INNER}/root && umount /var/tmp/{INNER}/lower && umount /run/{INNER} && "
             f"rm -rf --one-file-system /var/tmp/{INNER}", check=False)


def test_m_reaches_the_service_in_a_local_container(svc, inner):
    # The overlay "inner" exists in the inner container alone.
    run = svc.c.run(["left4me-builderctl", "-M", inner, "build", "inner", "-"],
                    input="echo built in $OVERLAY\nexit 4\n", check=False)
    assert run.returncode == 4 and run.stdout == "built in /overlay\n", run
    listed = json.loads(svc.c.run(["left4me-builderctl", "-M", inner, "--json", "jobs", "--all"]).stdout)
    assert [(j["Overlay"], j["ExitStatus"]) for j in listed] == [("inner", 4)]
    # Not this container's service: it has no such job.
    here = json.loads(svc.c.run(["left4me-builderctl", "--json", "jobs", "--all"]).stdout)
    assert all(j["Overlay"] != "inner" for j in here)
    python = svc.c.run([PYTHON, "-c", textwrap.dedent(f"""
        import json
        from left4me_builder import Builder
        with Builder(machine={inner!r}) as builder:
            job = builder.start_build("inner", "echo from python")
            result = job.wait()
            print(json.dumps([[l.text for l in job.lines()], [result.state, result.result, result.exit_status]]))
        """)]).stdout
    assert json.loads(python) == [["from python"], ["succeeded", "success", 0]]
