"""left4me-builderctl against the real daemon: exit statuses, --json, late
attach, Ctrl-C, the progress line and password prompt on a terminal,
translations and the shell completion."""

import json
import os
import shlex

import pytest

from conftest import PYTHON
from lossy_bus import assert_every_line_once_through_the_gap, follow_through_a_gap

CTL = "left4me-builderctl"
RULES = "/usr/share/doc/left4me-builderd/examples/50-left4me-builder.rules"
ON_TERMINAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "on_terminal.py")


@pytest.fixture
def granted(svc):
    """bob's group may build, as the shipped example rules say."""
    with svc.polkit_reload():
        svc.c.run(["cp", RULES, "/etc/polkit-1/rules.d/50-test-left4me.rules"])
    return svc


def ctl(svc, *args, user="bob", input=None, env=None, timeout=120):
    return svc.c.run([CTL] + [str(a) for a in args], user=user, input=input, env=env, check=False, timeout=timeout)


def on_terminal(svc, command, user="bob", sigint_on=None, password_on=None):
    """Runs COMMAND (a shell line) as USER on a pseudo-terminal; PASSWORD_ON
    is (prompt, text) to type at a password prompt, SIGINT_ON the output
    after which to press Ctrl-C."""
    args = [PYTHON, ON_TERMINAL]
    if sigint_on is not None:
        args += ["--sigint-on", sigint_on]
    if password_on is not None:
        args += ["--password-on", *password_on]
    inner = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--reset-env", "--",
             "sh", "-c", command]
    return json.loads(svc.c.run(args + ["--"] + inner, timeout=150).stdout)


def job_state(svc, job):
    return json.loads(ctl(svc, "--json", "status", job).stdout)["State"]


# -- exit statuses -------------------------------------------------------------

@pytest.mark.quick
def test_build_streams_the_log_and_exits_with_the_scripts_status(granted):
    granted.overlay("cli-status")
    script = "echo to stdout\necho to stderr >&2\nexit 3\n"
    run = ctl(granted, "build", "cli-status", "-", input=script)
    assert run.returncode == 3, run.stderr
    # Each line to the stream the script wrote it to, without the mark.
    assert run.stdout == "to stdout\n"
    assert run.stderr == "to stderr\n"
    ok = ctl(granted, "build", "cli-status", "-", input="echo fine\n")
    assert (ok.returncode, ok.stdout) == (0, "fine\n")


@pytest.mark.quick
def test_errors_print_the_services_message_and_exit_with_the_documented_code(granted):
    granted.overlay("cli-errors")
    bad = ctl(granted, "build", "../etc", "-", input="true\n")
    assert bad.returncode == 2
    assert bad.stderr.startswith("left4me-builderctl: ") and "overlay" in bad.stderr
    assert "Traceback" not in bad.stderr and "terminate" not in bad.stderr
    missing = ctl(granted, "status", "999999")
    assert missing.returncode == 5 and "999999" in missing.stderr
    not_mounted = ctl(granted, "unmount", "never-mounted", user="root")
    assert not_mounted.returncode == 5 and "never-mounted" in not_mounted.stderr
    usage = ctl(granted, "build", "cli-errors", "-", "--memory-max=12Q")
    assert usage.returncode == 2 and "--memory-max" in usage.stderr and "--help" in usage.stderr
    unknown = ctl(granted, "frobnicate")
    assert unknown.returncode == 2 and "frobnicate" in unknown.stderr
    # A build of a busy overlay: Busy is a plain failure (1).
    job = ctl(granted, "build", "cli-errors", "-", "--no-follow", input="sleep 30\n").stdout.strip()
    busy = ctl(granted, "build", "cli-errors", "-", input="true\n")
    assert busy.returncode == 1 and f"being built by job {job}" in busy.stderr, busy.stderr
    assert ctl(granted, "cancel", job).returncode == 0
    assert job_state(granted, job) == "cancelled"


@pytest.mark.quick
def test_a_plain_user_is_refused_with_exit_4_and_nothing_runs(svc):
    svc.overlay("cli-denied")
    before = svc.snapshot()
    run = ctl(svc, "build", "cli-denied", "-", user="alice", input="touch /overlay/x\n")
    assert run.returncode == 4
    assert "org.left4me.builder.build" in run.stderr
    assert svc.snapshot() == before


def test_ctrl_c_cancels_the_build_and_exits_130(granted):
    granted.overlay("cli-sigint")
    script = "trap 'echo stopping; exit 1' TERM\necho started\nsleep 600 & wait\n"
    result = on_terminal(granted, f"printf %s {shlex.quote(script)} > /tmp/s && exec {CTL} build cli-sigint /tmp/s",
                         sigint_on="started")
    assert result["status"] == 130, result
    assert "started" in result["output"] and "stopping" in result["output"]
    jobs = json.loads(ctl(granted, "--json", "jobs", "--all").stdout)
    last = max(jobs, key=lambda j: j["Id"])
    assert last["Overlay"] == "cli-sigint" and last["State"] == "cancelled"


def test_a_timeout_exits_124(granted):
    granted.overlay("cli-timeout")
    run = ctl(granted, "build", "cli-timeout", "-", "--timeout=1", input="sleep 30\n")
    assert run.returncode == 124


# -- --json --------------------------------------------------------------------

@pytest.mark.quick
def test_json_output_parses_for_every_listing(granted):
    granted.overlay("cli-json")
    run = ctl(granted, "--json", "build", "cli-json", "-", "--env=GREETING=hi", input='echo "$GREETING"\necho oops >&2\nexit 7\n')
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert records[0] == {"line": 0, "stream": "stdout", "text": "hi"}
    assert records[1] == {"line": 1, "stream": "stderr", "text": "oops"}
    assert records[-1]["state"] == "failed" and records[-1]["exit_status"] == 7 and run.returncode == 7
    job = str(records[-1]["job"])

    status = json.loads(ctl(granted, "status", job, "--json").stdout)
    assert status["Id"] == int(job) and status["Overlay"] == "cli-json" and status["ExitStatus"] == 7
    assert status["Path"] == f"/org/left4me/Builder/job/{job}" and len(status["BuildHash"]) == 64
    everything = json.loads(ctl(granted, "--json", "jobs", "--all").stdout)
    assert any(j["Id"] == int(job) for j in everything)
    # Without --all: the running jobs only, and there is one.
    sleeper = ctl(granted, "build", "cli-json", "-", "--no-follow", input="sleep 30\n").stdout.strip()
    running = json.loads(ctl(granted, "--json", "jobs").stdout)
    assert [j["Id"] for j in running] == [int(sleeper)], running
    assert running[0]["State"] in ("starting", "running"), running
    assert ctl(granted, "cancel", sleeper).returncode == 0
    assert json.loads(ctl(granted, "--json", "mounts").stdout) == []
    log = [json.loads(line) for line in ctl(granted, "--json", "log", job).stdout.splitlines()]
    assert log == [{"line": 0, "stream": "stdout", "text": "hi"}, {"line": 1, "stream": "stderr", "text": "oops"}]


@pytest.mark.quick
def test_human_listings_show_the_job(granted):
    granted.overlay("cli-human")
    job = ctl(granted, "build", "cli-human", "-", "--no-follow", input="echo one\n").stdout.strip()
    granted.wait_for(lambda: job_state(granted, job) == "succeeded", what="the build to end")
    table = ctl(granted, "jobs", "--all").stdout.splitlines()
    assert table[0].split() == ["ID", "STATE", "RESULT", "EXIT", "OVERLAY", "OWNER", "CREATED"]
    assert any(row.split()[:6] == [job, "succeeded", "success", "0", "cli-human", "bob"] for row in table[1:])
    status = ctl(granted, "status", job).stdout
    assert "State: succeeded" in status and "Owner: bob" in status


# -- logs ----------------------------------------------------------------------

@pytest.mark.quick
def test_log_from_and_a_late_follow_lose_no_line(granted):
    granted.overlay("cli-late")
    script = "for i in $(seq 0 19999); do echo \"line $i\"; [ $((i % 5000)) = 0 ] && sleep 0.5; done; true\n"
    job = ctl(granted, "build", "cli-late", "-", "--no-follow", input=script).stdout.strip()
    # Attach while it runs, after it has printed some lines.
    granted.wait_for(lambda: ctl(granted, "log", job).stdout != "", what="the first lines")
    follow = ctl(granted, "log", job, "--follow")
    assert follow.returncode == 0
    assert follow.stdout.splitlines() == [f"line {i}" for i in range(20000)]
    tail = ctl(granted, "log", job, "--from=19990").stdout.splitlines()
    assert tail == [f"line {i}" for i in range(19990, 20000)]
    assert ctl(granted, "log", job, "--from=20000").stdout == ""


@pytest.mark.quick
def test_log_follow_reads_the_lines_of_lost_signals_from_the_stored_log(svc):
    """A follower that misses a range of Log signals (as when the bus drops
    them; here a proxy between it and the bus drops them) prints every line
    once, in order: it reads the gap with ReadLog."""
    report = follow_through_a_gap(svc, "cli-gap", 200000, [CTL, "log", "{job}", "--follow"])
    assert_every_line_once_through_the_gap(report, 200000)


def test_build_follow_is_complete_for_a_long_log(granted):
    granted.overlay("cli-long")
    run = ctl(granted, "build", "cli-long", "-", input="seq 0 99999\n")
    assert run.returncode == 0
    assert run.stdout.splitlines() == [str(i) for i in range(100000)]


# -- terminal --------------------------------------------------------------------

def test_on_a_terminal_the_progress_line_stays_below_the_log(granted):
    granted.overlay("cli-progress")
    script = ("echo start\nleft4me-progress 10 fetching\nsleep 0.4\necho middle\n"
              "left4me-progress 50 compiling\nsleep 0.4\necho end\n")
    result = on_terminal(granted, f"printf %s {shlex.quote(script)} > /tmp/p && exec {CTL} build cli-progress /tmp/p")
    assert result["status"] == 0
    out = result["output"]
    assert "[ 10%] fetching" in out and "[ 50%] compiling" in out
    # Each redraw erases the progress line first, so every log line starts
    # clean on its own row and the last thing printed is the erase.
    assert "\r\x1b[Kmiddle\r\n" in out and "\r\x1b[Kend\r\n" in out
    assert out.endswith("\r\x1b[K")
    # Not on a terminal: the log alone.
    plain = ctl(granted, "build", "cli-progress", "-", input=script)
    assert "\x1b" not in plain.stdout and "[ 10%]" not in plain.stdout


def test_on_a_terminal_the_scripts_control_characters_are_shown_not_obeyed(granted):
    granted.overlay("cli-escapes")
    # OSC 52 would write the watcher's clipboard, ESC [1A move the cursor up
    # over the line before, and the status would clear the screen.
    script = ("printf 'a\\033]52;c;ZXZpbA==\\007b\\tc\\n'\nprintf 'x\\033[1Ay\\n' >&2\n"
              "left4me-progress 50 \"$(printf 'st\\033[2Jatus')\"\n")
    result = on_terminal(granted, f"printf %s {shlex.quote(script)} > /tmp/e && exec {CTL} build cli-escapes /tmp/e")
    assert result["status"] == 0, result
    out = result["output"]
    assert "a\\x1b]52;c;ZXZpbA==\\x07b\tc\r\n" in out and "x\\x1b[1Ay\r\n" in out
    assert "\x1b]" not in out and "\x1b[1A" not in out and "\x1b[2J" not in out
    # To a pipe, and in --json, the lines are exactly what the script wrote.
    plain = ctl(granted, "build", "cli-escapes", "-", input=script)
    assert plain.stdout.startswith("a\x1b]52;c;ZXZpbA==\x07b\tc\n") and plain.stderr == "x\x1b[1Ay\n"
    records = [json.loads(line) for line in ctl(granted, "--json", "build", "cli-escapes", "-", input=script).stdout.splitlines()]
    assert records[0]["text"] == "a\x1b]52;c;ZXZpbA==\x07b\tc"
    # The status listing shows the script's status text with the control blanked.
    status = ctl(granted, "status", str(records[-1]["job"])).stdout
    assert "st [2Jatus" in status and "\x1b" not in status


def test_on_a_terminal_polkit_asks_for_a_password_through_pkttyagent(svc):
    svc.overlay("cli-auth")
    svc.c.sh("echo root:cli-test-pw | chpasswd")
    with svc.polkit_reload():
        svc.c.write("/etc/polkit-1/rules.d/10-test-cli-auth.rules",
                    'polkit.addAdminRule(function(action, subject) { return ["unix-user:root"]; });\n'
                    'polkit.addRule(function(action, subject) {\n'
                    '  if (action.id == "org.left4me.builder.build" && subject.user == "alice")\n'
                    '    return polkit.Result.AUTH_ADMIN;\n'
                    '});\n')
    command = f"echo 'echo built' > /tmp/a && LANG=de_DE.UTF-8 exec {CTL} build cli-auth /tmp/a"
    # PAM's prompt, in German: "Passwort: ".
    result = on_terminal(svc, command, user="alice", password_on=("Passw", "cli-test-pw\\n"))
    assert result["status"] == 0, result
    assert "AUTHENTICATING FOR org.left4me.builder.build" in result["output"]
    # polkitd translated the message for the agent's (German) locale.
    assert "Zum Ausführen eines Build-Skripts für das Overlay cli-auth" in result["output"]
    assert result["output"].rstrip().endswith("built")
    # Without a terminal nobody can be asked: InteractiveAuthorizationRequired, exit 4.
    refused = ctl(svc, "build", "cli-auth", "-", user="alice", input="true\n")
    assert refused.returncode == 4 and "interactive" in refused.stderr.lower()
    # --no-ask-password on a terminal: no prompt either.
    quiet = on_terminal(svc, f"exec {CTL} --no-ask-password build cli-auth /tmp/a", user="alice")
    assert quiet["status"] == 4 and "Password" not in quiet["output"]


# -- mounts and caps ---------------------------------------------------------------

@pytest.mark.quick
def test_mount_mounts_and_unmount(svc):
    svc.c.sh("rm -rf /var/lib/left4me/overlays/cli-layer && mkdir -p /var/lib/left4me/overlays/cli-layer && "
             "echo hi > /var/lib/left4me/overlays/cli-layer/file")
    where = ctl(svc, "mount", "cli-inst", "/var/lib/left4me/overlays/cli-layer", "--read-only", user="root")
    assert where.returncode == 0, where.stderr
    merged = where.stdout.strip()
    assert svc.c.run(["cat", merged + "/file"]).stdout == "hi\n"
    listing = json.loads(ctl(svc, "--json", "mounts", user="root").stdout)
    assert [(m["Instance"], m["ReadOnly"], m["Where"]) for m in listing] == [("cli-inst", True, merged)]
    assert ctl(svc, "mounts", user="root").stdout.splitlines()[1].split()[:3] == ["cli-inst", merged, "ro"]
    assert ctl(svc, "unmount", "cli-inst", user="root").returncode == 0
    assert json.loads(ctl(svc, "--json", "mounts", user="root").stdout) == []


@pytest.mark.quick
def test_caps_sets_and_clears_capabilities(svc):
    addon = "/var/lib/left4me/addons/cli-probe"
    svc.c.sh(f"rm -rf {addon} && mkdir -p {addon}/versions/1.0 && cp /usr/bin/true {addon}/versions/1.0/probe")
    run = ctl(svc, "caps", "cli-probe", "1.0", "probe", "cap_net_raw", "--activate", user="root")
    assert run.returncode == 0, run.stderr
    assert svc.c.run(["getcap", f"{addon}/versions/1.0/probe"]).stdout.split()[-1] == "cap_net_raw=ep"
    assert svc.c.run(["readlink", f"{addon}/current"]).stdout.strip() == "versions/1.0"
    refused = ctl(svc, "caps", "cli-probe", "1.0", "probe", "cap_sys_admin", user="root")
    assert refused.returncode == 2 and "cap_sys_admin" in refused.stderr
    assert ctl(svc, "caps", "cli-probe", "1.0", "probe", user="root").returncode == 0
    assert svc.c.run(["getcap", f"{addon}/versions/1.0/probe"]).stdout.strip() == ""


# -- help, translations, completion ----------------------------------------------

@pytest.mark.quick
@pytest.mark.parametrize("command", ["", "build", "jobs", "status", "log", "cancel", "mount", "unmount", "mounts", "caps",
                                     "server", "units"])
def test_every_command_answers_help(svc, command):
    run = ctl(svc, *([command] if command else []), "--help")
    assert run.returncode == 0 and run.stdout.startswith("Usage: left4me-builderctl")


@pytest.mark.quick
def test_language_de_shows_german(svc):
    # Straight as root: setpriv --reset-env would drop LANGUAGE.
    help_de = ctl(svc, "--help", user=None, env={"LANGUAGE": "de"})
    assert help_de.stdout.startswith("Aufruf: left4me-builderctl") and "Befehle:" in help_de.stdout
    error_de = ctl(svc, "frobnicate", user=None, env={"LANGUAGE": "de"})
    assert "unbekannter Befehl frobnicate" in error_de.stderr
    # polkit has the German action texts: asked for de_DE it answers in German.
    # (pkaction itself always asks polkitd with an empty locale, so it shows
    # English for every action on polkit 122; see README.)
    actions = svc.c.run(["gdbus", "call", "--system", "--dest", "org.freedesktop.PolicyKit1",
                         "--object-path", "/org/freedesktop/PolicyKit1/Authority",
                         "--method", "org.freedesktop.PolicyKit1.Authority.EnumerateActions", "de_DE.UTF-8"]).stdout
    assert "Ein Build-Skript in der left4me-Build-Sandbox ausführen" in actions


@pytest.mark.quick
def test_bash_completion_completes_commands_and_options(svc):
    complete = ("complete_line() { COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< \"$1\"; "
                "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _left4me_builderctl; echo \"${COMPREPLY[*]}\"; }; ")
    script = ("source /usr/share/bash-completion/bash_completion; "
              "source /usr/share/bash-completion/completions/left4me-builderctl; " + complete +
              "complete_line 'left4me-builderctl bu'; complete_line 'left4me-builderctl build --me'; "
              "complete_line 'left4me-builderctl server e'; complete_line 'left4me-builderctl server enable 1 --t'; "
              "complete_line 'left4me-builderctl units i'; complete_line 'left4me-builderctl units install a 1 --e'")
    out = svc.c.run(["bash", "-c", script]).stdout.splitlines()
    assert out == ["build", "--memory-max=", "enable", "--template=", "install", "--enable="]
