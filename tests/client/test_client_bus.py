"""The Python client against the stand-in service on a private bus: what it
promises about streaming, restarts of the service, cancel, detach, closed
connections, timeouts and forged signals, without root. The real daemon's
proofs are in tests/e2e/test_python_client.py."""

import asyncio
import hashlib
import inspect
import json
import os
import threading
import time

import pytest
from gi.repository import GLib

from conftest import connect, wait_for
from left4me_builder import (
    BuildCancelled,
    BuildError,
    Builder,
    Busy,
    CallTimeout,
    Disconnected,
    LogLine,
    NotSupported,
    Retryable,
    ServiceLost,
    run_sandboxed_script,
)

# About two seconds of output, 200,000 lines, in 20 bursts: long enough to
# kill the service three times while it runs.
SLOW_SEQ = "for i in $(seq 0 19); do seq $((i * 10000)) $((i * 10000 + 9999)); sleep 0.1; done"
SLOW_SEQ_SHA = hashlib.sha256("".join(f"{i}\n" for i in range(200000)).encode()).hexdigest()


def digest(texts):
    return hashlib.sha256("".join(text + "\n" for text in texts).encode()).hexdigest()


class Follower(threading.Thread):
    """Runs CALL in a thread; keeps what it returned or raised, and when."""

    def __init__(self, call):
        super().__init__(daemon=True)
        self.call = call
        self.value = self.error = self.ended_at = None
        self.start()

    def run(self):
        try:
            self.value = self.call()
        except BaseException as error:  # noqa: B902 - the test inspects it
            self.error = error
        self.ended_at = time.monotonic()

    def outcome(self, timeout=10):
        self.join(timeout)
        assert not self.is_alive(), "still waiting: the client hangs"
        return self.value, self.error


def bounded(call, timeout=10):
    """CALL's value (or exception), failing the test if it takes longer than
    TIMEOUT: a client broken on purpose must fail, not hang the suite."""
    value, error = Follower(call).outcome(timeout)
    if error is not None:
        raise error
    return value


def test_lines_arrive_numbered_with_their_stream_and_without_the_mark(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo out; echo err >&2; echo last")
    lines = list(job.lines())
    assert [line.number for line in lines] == [0, 1, 2]
    # Two pipes: the stand-in may relay them in either order, the streams never mix.
    assert [line.text for line in lines if line.stream == "stdout"] == ["out", "last"]
    assert [line.text for line in lines if line.stream == "stderr"] == ["err"]
    assert list(job.lines(from_line=2)) == lines[2:]
    assert list(job.lines(from_line=3)) == []


def test_on_lines_gets_whole_batches_numbered_and_from_line_resumes_from_a_stored_count(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "seq 0 49999")
    batches = []
    result = job.follow(on_lines=batches.append)
    numbers = [line.number for batch in batches for line in batch]
    assert numbers == list(range(50000))
    assert all(isinstance(line, LogLine) and line.stream == "stdout" for batch in batches for line in batch)
    assert len(batches) < 100  # one callback per Log signal or ReadLog page, not per line
    assert (result.job_id, result.state, result.exit_status) == (job.id, "succeeded", 0)
    rest = []
    job.follow(rest.append, from_line=49990)
    assert rest == [str(i) for i in range(49990, 50000)]


def test_a_stream_goes_on_through_three_kill_9s_of_the_service_with_no_gap_and_no_duplicate(bus):
    builder = Builder(bus.address)
    job = builder.start_build("slow", SLOW_SEQ)
    texts = []
    follower = Follower(lambda: job.follow(texts.append))
    pids = {bus.service_pid()}
    for threshold in (30000, 90000, 150000):
        wait_for(lambda: len(texts) >= threshold or follower.ended_at, f"line {threshold}")
        assert not follower.ended_at, "the build ended before the service was killed"
        pids.add(bus.kill_service())
        wait_for(lambda: bus.service_pid() is not None, "bus activation to bring the service back", timeout=15)
        pids.add(bus.service_pid())
    result, error = follower.outcome(timeout=30)
    assert error is None
    assert len(pids) == 4  # three kills, three new services
    assert (len(texts), digest(texts)) == (200000, SLOW_SEQ_SHA)
    assert result.succeeded


def test_wait_goes_on_through_a_kill_9_of_the_service(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "sleep 1; echo done")
    bus.forget_calls()
    waiter = Follower(lambda: job.wait(timeout=20))
    wait_for(lambda: calls_of(bus, "org.freedesktop.DBus.Properties") == 1, "wait() to have read State")
    bus.kill_service()
    result, error = waiter.outcome(timeout=20)
    assert error is None and result.succeeded


def test_when_the_service_does_not_come_back_the_stream_ends_in_bounded_time_with_the_next_line(bus):
    builder = Builder(bus.address, restart_timeout=1.0)
    job = builder.start_build("slow", SLOW_SEQ)
    texts = []
    follower = Follower(lambda: job.follow(texts.append))
    wait_for(lambda: len(texts) >= 20000, "the first lines")
    bus.control_file("refuse-start")  # bus activation now fails
    bus.kill_service()
    killed_at = time.monotonic()
    _, error = follower.outcome(timeout=10)
    assert isinstance(error, ServiceLost) and isinstance(error, ConnectionError)
    assert 0.9 < follower.ended_at - killed_at < 3
    assert error.next_line == len(texts) and error.job_id == job.id
    assert f"from line {len(texts)}" in str(error)
    # The build went on; once the service is back, the rest follows on exactly.
    bus.control_file("refuse-start", present=False)
    rest = []
    Builder(bus.address).job(job.id).follow(rest.append, from_line=error.next_line)
    assert (len(texts + rest), digest(texts + rest)) == (200000, SLOW_SEQ_SHA)


def test_should_cancel_cancels_and_the_last_lines_and_the_cancelled_result_still_arrive(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo started; trap 'echo stopping; exit 1' TERM; sleep 600 & wait")
    texts, polls = [], []

    def should_cancel():
        polls.append(time.monotonic())
        return "started" in texts

    begun = time.monotonic()
    result = bounded(lambda: job.follow(texts.append, should_cancel=should_cancel, poll_interval=0.05))
    assert result.state == "cancelled" and not result.succeeded
    assert texts == ["started", "stopping"]
    assert time.monotonic() - begun < 5
    assert len(polls) >= 1


def test_should_detach_stops_following_without_cancelling_and_another_builder_picks_it_up(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo one; sleep 0.5; echo two; sleep 0.5; echo three")
    seen = []
    result = job.follow(on_lines=seen.extend, should_detach=lambda: len(seen) >= 1, poll_interval=0.05)
    assert not result.ended and result.state == "running"
    assert [line.text for line in seen] == ["one"]
    builder.close()
    again = Builder(bus.address).job(result.job_id)
    rest = list(again.lines(from_line=seen[-1].number + 1))
    assert [line.text for line in rest] == ["two", "three"]
    assert again.wait(timeout=5).succeeded


def test_an_exception_in_a_callback_propagates_and_the_build_goes_on(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo one; sleep 0.5; echo two")

    def broken_database(text):
        raise RuntimeError(f"cannot insert {text}")

    with pytest.raises(RuntimeError, match="cannot insert one"):
        job.follow(broken_database)
    assert job.state == "running"
    assert job.wait(timeout=5).succeeded


def calls_of(bus, prefix):
    return sum(call.startswith(prefix) for call in bus.calls())


def assert_each_ends_disconnected_within_a_second(waiters, since):
    for waiter in waiters:
        _, error = waiter.outcome(timeout=5)
        assert isinstance(error, Disconnected) and isinstance(error, ConnectionError), error
        assert waiter.ended_at - since < 1.0


def test_closing_a_shared_builder_ends_every_wait_and_call_within_a_second(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo started; sleep 600")
    other = Builder(bus.address).start_build("other", "true")  # a call to leave unanswered, below
    wait_for(lambda: job.read_log()[1] == ["started"], "the first line")
    bus.forget_calls()
    bus.control_file("hang")  # calls stay unanswered; properties (GDBus answers them) do not
    waiters = [
        Follower(lambda: job.wait()),                                              # waiting for Finished
        Follower(lambda: job.follow(lambda _: None, should_cancel=lambda: False)),  # in ReadLog
        Follower(lambda: list(job.lines())),                                       # in ReadLog
        Follower(lambda: builder.cancel(other)),                                   # in Cancel
    ]
    wait_for(lambda: calls_of(bus, "org.left4me.Builder.Job.ReadLog") == 2 and
             calls_of(bus, "org.left4me.Builder.Cancel") == 1 and calls_of(bus, "org.freedesktop.DBus.Properties") == 3,
             "every thread to be in its call or wait")
    closed_at = time.monotonic()
    builder.close()
    assert_each_ends_disconnected_within_a_second(waiters, closed_at)
    with pytest.raises(Disconnected):
        job.state


def test_the_bus_going_away_ends_every_wait_within_a_second(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo started; sleep 600")
    wait_for(lambda: job.read_log()[1] == ["started"], "the first line")
    bus.forget_calls()
    waiters = [Follower(lambda: job.wait()),
               Follower(lambda: job.follow(lambda _: None, should_cancel=lambda: False))]
    # Each has read State; follow() has replayed the log to its end.
    wait_for(lambda: calls_of(bus, "org.freedesktop.DBus.Properties") == 2 and
             calls_of(bus, "org.left4me.Builder.Job.ReadLog") == 2, "both threads to wait")
    gone_at = time.monotonic()
    bus.kill_bus()
    assert_each_ends_disconnected_within_a_second(waiters, gone_at)
    assert builder.closed


def test_a_call_without_an_answer_raises_a_timeout_error_after_the_builders_timeout(bus):
    builder = Builder(bus.address, timeout=0.5)
    bus.start_service()
    bus.control_file("hang")
    begun = time.monotonic()
    with pytest.raises(CallTimeout) as raised:
        builder.start_build("demo", "true")
    assert 0.4 < time.monotonic() - begun < 2
    assert isinstance(raised.value, TimeoutError)
    assert raised.value.name == "org.freedesktop.DBus.Error.Timeout"
    assert "GDBus" not in raised.value.name


def test_signals_sent_by_anyone_but_the_services_owner_are_ignored(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo real; sleep 1; echo end")
    texts = []
    follower = Follower(lambda: job.follow(texts.append))
    wait_for(lambda: texts == ["real"], "the first line")
    forger = connect(bus.address)
    client = builder._bus.get_unique_name()

    def forge(interface, member, signature, args, path=job.path):
        for destination in (client, None):  # to the client alone, and to everyone
            forger.emit_signal(destination, path, interface, member, GLib.Variant(signature, args))

    bus.forget_calls()
    forge("org.left4me.Builder.Job", "Log", "(tas)", (1, ["forged"]))
    forge("org.left4me.Builder.Job", "Finished", "(si)", ("success", 0))
    forge("org.freedesktop.DBus.Properties", "PropertiesChanged", "(sa{sv}as)",
          ("org.left4me.Builder.Job", {"State": GLib.Variant("s", "succeeded")}, []))
    # "The service has gone": the client would call it to see.
    forge("org.freedesktop.DBus", "NameOwnerChanged", "(sss)", ("org.left4me.Builder", ":1.1", ""),
          path="/org/freedesktop/DBus")
    forger.flush_sync(None)
    time.sleep(0.3)  # the window in which a reaction would show (the build runs 1 s)
    assert bus.calls() == [] and follower.is_alive()
    result, error = follower.outcome(timeout=10)
    assert error is None
    assert texts == ["real", "end"]
    assert result.succeeded


def test_on_progress_reports_marker_lines_live_and_on_replay_and_hide_progress_keeps_them_out(bus):
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo a; left4me-progress 25 fetching; echo b; left4me-progress - waiting;"
                                      "left4me-progress 101 too much; echo '::left4me-progress:: 50' >&2")
    reports, stdout, stderr, batches = [], [], [], []
    job.follow(stdout.append, on_stderr=stderr.append, on_progress=lambda *report: reports.append(report),
               hide_progress=True)
    assert reports == [(0.25, "fetching"), (-1.0, "waiting")]
    assert stdout == ["a", "b", "::left4me-progress:: 101 too much"]
    assert stderr == ["::left4me-progress:: 50"]  # a report only on stdout, as the daemon reads them
    replayed = []
    job.follow(on_lines=batches.extend, on_progress=lambda *report: replayed.append(report))
    assert replayed == reports
    assert [line.number for line in batches] == list(range(6))  # not hidden: every line, numbered


def test_on_timeout_warning_is_told_once_in_order_with_the_lines_with_the_jobs_deadline(bus):
    builder = Builder(bus.address)
    # The stand-in warns at 75 % of timeout_sec, as the daemon does by default.
    job = builder.start_build("demo", "echo before; sleep 1.5; echo after", timeout_sec=1)
    told = []
    result = bounded(lambda: job.follow(told.append, on_timeout_warning=lambda deadline: told.append(deadline)))
    assert result.succeeded
    info = job.info()
    assert info.deadline == info.created_at + 1000000 and info.timeout_warned
    assert told == ["before", info.deadline, "after"]
    # Lines alone need no warning: without the callback, nothing else is asked.
    assert list(job.lines())[-1].text == "after"


def test_a_follower_that_comes_after_the_warning_is_told_at_once_and_once_across_a_restart_of_the_service(bus):
    with open(os.path.join(bus.state, "default-timeout-sec"), "w") as f:
        f.write("0.4")  # warned at 0.3 s
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo go; sleep 600")
    wait_for(lambda: job.timeout_warned, "the warning")
    warnings = []
    detach = threading.Event()
    follower = Follower(lambda: job.follow(on_timeout_warning=warnings.append, should_detach=detach.is_set))
    wait_for(lambda: warnings, "the late follower to be told")
    assert warnings == [job.deadline]
    bus.kill_service()
    bus.forget_calls()
    # The follower calls the service back (bus activation) and reads the log again.
    wait_for(lambda: any(call.startswith("org.left4me.Builder.Job.ReadLog") for call in bus.calls()),
             "the follower to catch up with the restarted service")
    detach.set()
    result, error = follower.outcome()
    assert error is None and result.state == "running"
    assert warnings == [job.deadline]
    assert [j.snapshot.timeout_warned for j in builder.jobs()] == [True]


def test_jobs_come_from_one_call_filtered_by_owner_and_state(bus):
    builder = Builder(bus.address)
    done = builder.start_build("one", "true")
    done.wait(timeout=5)
    running = builder.start_build("two", "sleep 600")
    bus.forget_calls()
    everything = builder.jobs()
    assert bus.calls() == ["org.freedesktop.DBus.ObjectManager.GetManagedObjects /org/left4me/Builder"]
    assert [job.id for job in everything] == [done.id, running.id]
    assert everything[0].snapshot.state == "succeeded" and everything[1].snapshot.overlay == "two"
    assert [job.id for job in builder.jobs(state="running")] == [running.id]
    assert [job.id for job in builder.jobs(state={"succeeded", "failed"})] == [done.id]
    assert [job.id for job in builder.jobs(owner=everything[0].snapshot.owner)] == [done.id, running.id]
    assert builder.jobs(owner=everything[0].snapshot.owner + 1) == []


def test_a_misspelt_or_mistyped_option_fails_locally_and_nothing_is_sent(bus):
    builder = Builder(bus.address)
    with pytest.raises(TypeError, match="memory"):
        builder.start_build("demo", "true", memory=1 << 30)
    with pytest.raises(TypeError, match="cpu_quota"):
        builder.start_build("demo", "true", cpu_quota="50%")
    with pytest.raises(ValueError, match="cpu_quota"):
        builder.start_build("demo", "true", cpu_quota=1 << 32)
    assert bus.calls() == []
    job = builder.start_build("demo", "true", memory_max=1 << 30, cpu_quota=50, environment={"A": "1"})
    assert job.wait(timeout=5).succeeded


def test_mount_unmount_and_apply_caps_send_what_the_xml_declares(bus):
    builder = Builder(bus.address)
    # The stand-in's adaptor is the XML: arguments of another type would
    # be refused with InvalidArgs before they reached it.
    for call in (lambda: builder.mount("inst", ["/a", "/b"], read_only=True, persistent=False),
                 lambda: builder.unmount("inst"),
                 lambda: builder.apply_caps("addon", "1.0", "bin/x", ["cap_net_raw"], activate=True)):
        with pytest.raises(NotSupported, match="stand-in"):
            call()


def test_enable_and_disable_server_send_what_the_xml_declares_and_return_the_unit(bus):
    builder = Builder(bus.address)
    assert builder.enable_server("1", now=True) == "left4me-server@1.service"
    assert builder.disable_server("eu-2", "game@.service") == "game@eu-2.service"
    with open(os.path.join(bus.state, "options")) as sent:
        assert [json.loads(line) for line in sent] == [
            {"method": "EnableServer", "options": {"now": "b"}},
            {"method": "DisableServer", "options": {"now": "b"}}]
    with pytest.raises(TypeError, match="now"):
        builder.enable_server("1", now="yes")  # type: ignore[arg-type]


def test_busy_is_retryable(bus):
    builder = Builder(bus.address)
    builder.start_build("demo", "sleep 600")
    with pytest.raises(Busy) as raised:
        builder.start_build("demo", "true")
    assert isinstance(raised.value, Retryable)


# -- run_sandboxed_script, as the web app calls it --------------------------

@pytest.fixture
def system_bus(bus, monkeypatch):
    """The private bus as the system bus: run_sandboxed_script connects there."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address)
    return bus


def test_run_sandboxed_script_has_the_workers_signature():
    parameters = inspect.signature(run_sandboxed_script).parameters
    assert [(name, p.kind.name, p.default is p.empty) for name, p in parameters.items()] == [
        ("overlay_id", "POSITIONAL_OR_KEYWORD", True), ("script_text", "POSITIONAL_OR_KEYWORD", True),
        ("on_stdout", "KEYWORD_ONLY", True), ("on_stderr", "KEYWORD_ONLY", True),
        ("should_cancel", "KEYWORD_ONLY", True), ("on_started", "KEYWORD_ONLY", False),
        ("on_timeout_warning", "KEYWORD_ONLY", False)]
    assert parameters["on_started"].default is None and parameters["on_timeout_warning"].default is None


def test_run_sandboxed_script_returns_none_on_success_and_tells_the_job_id_first(system_bus):
    events = []
    returned = run_sandboxed_script("demo", "echo out; echo err >&2", on_stdout=lambda t: events.append(("out", t)),
                                    on_stderr=lambda t: events.append(("err", t)), should_cancel=lambda: False,
                                    on_started=lambda job_id: events.append(("started", job_id)))
    assert returned is None
    assert events[0][0] == "started" and isinstance(events[0][1], int)
    assert sorted(events[1:]) == [("err", "err"), ("out", "out")]


def test_run_sandboxed_script_tells_the_timeout_warning_between_the_lines(system_bus):
    with open(os.path.join(system_bus.state, "default-timeout-sec"), "w") as f:
        f.write("0.4")  # the service's configured limit, which the worker does not choose: warned at 0.3 s
    events = []
    run_sandboxed_script("demo", "echo before; sleep 0.8; echo after", on_stdout=events.append,
                         on_stderr=events.append, should_cancel=lambda: False,
                         on_timeout_warning=lambda deadline: events.append(("warned", deadline)))
    assert events[0] == "before" and events[2] == "after"
    assert events[1][0] == "warned" and events[1][1] == Builder(system_bus.address).job(1).deadline


def test_run_sandboxed_script_raises_build_error_with_the_result_on_failure(system_bus):
    with pytest.raises(BuildError) as raised:
        run_sandboxed_script("demo", "exit 3", on_stdout=print, on_stderr=print, should_cancel=lambda: False)
    error = raised.value
    assert type(error) is BuildError
    assert error.exit_status == 3 and error.result.state == "failed" and error.result.result == "exit-code"
    assert error.job_id == error.result.job_id and "exit status 3" in str(error)
    assert not error.retryable


def test_run_sandboxed_script_raises_build_cancelled_when_cancelled(system_bus):
    lines = []
    with pytest.raises(BuildCancelled) as raised:
        bounded(lambda: run_sandboxed_script("demo", "echo waiting; sleep 600", on_stdout=lines.append,
                                             on_stderr=lines.append, should_cancel=lambda: "waiting" in lines))
    assert isinstance(raised.value, BuildError) and raised.value.result.state == "cancelled"


def test_run_sandboxed_script_cancels_the_build_when_a_callback_raises(system_bus):
    started = []

    def broken_database(text):
        raise RuntimeError("database is down")

    with pytest.raises(RuntimeError, match="database is down"):
        bounded(lambda: run_sandboxed_script("demo", "echo one; sleep 600", on_stdout=broken_database,
                                             on_stderr=print, should_cancel=lambda: False, on_started=started.append))
    job = Builder(system_bus.address).job(started[0])
    assert job.wait(timeout=5).state == "cancelled"


def test_run_sandboxed_script_raises_a_retryable_build_error_when_the_overlay_is_busy(system_bus):
    Builder(system_bus.address).start_build("demo", "sleep 600")
    with pytest.raises(BuildError) as raised:
        run_sandboxed_script("demo", "true", on_stdout=print, on_stderr=print, should_cancel=lambda: False)
    assert raised.value.retryable and isinstance(raised.value.__cause__, Busy)
    assert raised.value.job_id is None and raised.value.result is None


def test_the_asyncio_recipe_cancelling_the_task_detaches_the_thread_and_the_build_goes_on(bus):
    """What the package doc says about asyncio.to_thread and cancellation."""
    builder = Builder(bus.address)
    job = builder.start_build("demo", "echo started; sleep 600")
    stop = threading.Event()
    returned = []

    def follow():
        result = job.follow(lambda _: None, should_detach=stop.is_set)
        returned.append(time.monotonic())
        return result

    async def app():
        task = asyncio.ensure_future(follow_in_thread())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic()

    async def follow_in_thread():
        try:
            return await asyncio.to_thread(follow)
        finally:
            stop.set()

    # asyncio.run() also waits for the worker thread: without the recipe's
    # stop.set(), for ever.
    cancelled_at, error = Follower(lambda: asyncio.run(app())).outcome(timeout=5)
    assert error is None
    assert returned and returned[0] - cancelled_at < 0.5
    assert job.state == "running"
