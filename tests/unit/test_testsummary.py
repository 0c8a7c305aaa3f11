"""tools/testsummary.py, the closing line of tools/test, over meson logs
captured from real runs (tests/unit/testsummary/README.md says how each
was made): the line must never read "0 failed, every tier ran" while a tier
failed, crashed, is missing or did not run."""

import os

import pytest

import testsummary

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testsummary")


def run(name, fixture, tiers, status=0, seconds=60):
    log = os.path.join(FIXTURES, fixture) if fixture else os.path.join(FIXTURES, "no-such-log.json")
    step = testsummary.Step(name, status, seconds, log, tiers)
    step.tiers = testsummary.tiers_of_run(testsummary.read_meson_log(log), tiers)
    return step


def step(name, status=0, seconds=60):
    return testsummary.Step(name, status, seconds)


def line(steps, ci=False):
    lines, status = testsummary.summarize(steps, ci)
    return lines[-1], status


def test_a_clean_run_counts_doctests_cases_pytests_tests_and_each_man_page():
    text, status = line([step("build"), run("unit tests", "all-well.json", ["unit", "python-client", "man"])])
    assert text == "tests: 110 passed, 0 failed, 0 skipped; every tier ran"  # 95 + 12 + 3 pages
    assert status == 0


def test_a_tier_that_is_not_registered_is_a_failure_not_a_recount():
    # e2e was expected in this run, but the log holds only the unit tiers.
    text, status = line([run("unit tests", "all-well.json", ["unit", "python-client", "man", "e2e"])])
    assert text == ("tests: 110 passed, 1 failed, 0 skipped; "
                    "missing from the build: e2e (unit tests)")
    assert status == 1


def test_a_run_that_wrote_no_log_misses_every_tier():
    # meson test --suite e2e with no e2e test registered: "No suitable tests
    # defined.", exit status 0, and no log file.
    text, status = line([run("end-to-end", None, ["e2e"])])
    assert text == "tests: 0 passed, 1 failed, 0 skipped; missing from the build: e2e (end-to-end)"
    assert status == 1


def test_a_tier_skipped_as_a_whole_is_named_and_fails_under_ci():
    steps = [run("unit tests", "all-well.json", ["unit", "python-client", "man"]),
             run("end-to-end", "e2e-not-root.json", ["e2e"])]
    text, status = line(steps)
    assert text == ("tests: 110 passed, 0 failed, 258 skipped; "
                    "did not run: e2e (end-to-end: 0 passed, 258 skipped)")
    assert status == 0
    assert line(steps, ci=True) == (text, 1)


def test_a_tier_whose_tests_were_all_deselected_did_not_run_and_failed():
    # pytest exits 5 when it selected nothing; meson calls that FAIL.
    text, status = line([run("end-to-end", "e2e-deselected.json", ["e2e"], status=1)])
    assert text == ("tests: 0 passed, 1 failed, 0 skipped; "
                    "did not run: e2e (end-to-end: 0 passed, 258 deselected); failed steps: end-to-end")
    assert status == 1


def test_a_test_that_fails_after_a_clean_summary_counts_as_failed():
    # doctest printed "0 failed" and the process exited 1 (as a sanitizer
    # report at exit makes it).
    steps = [run("sanitized unit tests", "unit-exit-1.json", ["unit"], status=1)]
    text, status = line(steps)
    assert text.startswith("tests: 95 passed, 1 failed, 0 skipped;")
    assert status == 1
    lines, _ = testsummary.summarize(steps, False)
    assert "unit 95 passed (fail, exit status 1, though its summary shows no failure)" in lines[0]


def test_a_timeout_without_a_summary_counts_as_failed():
    text, status = line([run("unit tests", "timeout.json", ["python-client"], status=1)])
    assert text.startswith("tests: 0 passed, 1 failed, 0 skipped;")
    assert status == 1


def test_failures_errors_skips_and_meson_skips_each_count():
    tiers = ["unit", "e2e", "vm", "python-client"]
    steps = [run("outcomes", "outcomes.json", tiers, status=1)]
    by_name = {t.name: t for t in steps[0].tiers}
    assert by_name["unit"].counts == testsummary.Counts(passed=1, failed=1)
    # 1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error
    assert by_name["e2e"].counts == testsummary.Counts(passed=1, failed=2, skipped=2)
    assert by_name["vm"].did_not_run and by_name["vm"].counts.skipped == 1  # exit status 77
    assert by_name["python-client"].did_not_run and by_name["python-client"].failed == 1  # "no tests ran", exit 5
    text, status = line(steps)
    assert text == ("tests: 2 passed, 4 failed, 3 skipped; did not run: vm (outcomes: 0 passed, 1 skipped), "
                    "python-client (outcomes: 0 passed); failed steps: outcomes")
    assert status == 1


def test_a_failed_step_before_the_tests_is_named_with_every_steps_time():
    steps = [step("build", seconds=185), step("style", status=1, seconds=70), step("fuzzing", seconds=250),
             run("unit tests", "all-well.json", ["unit", "python-client", "man"], seconds=5)]
    lines, status = testsummary.summarize(steps, False)
    assert lines[-1] == "tests: 110 passed, 0 failed, 0 skipped; failed steps: style"
    assert status == 1
    assert lines[0].split() == ["build", "ok", "3:05"]
    assert lines[1].split() == ["style", "FAILED", "(1)", "1:10"]
    assert lines[-2].split() == ["total", "8:30"]


def test_a_test_nobody_expected_is_still_counted():
    text, _ = line([run("unit tests", "all-well.json", ["unit"])])
    assert text == "tests: 110 passed, 0 failed, 0 skipped; every tier ran"


@pytest.mark.parametrize("output,counts", [
    ("[doctest] test cases:  95 |  95 passed | 0 failed | 0 skipped\n", testsummary.Counts(passed=95)),
    ("[doctest] test cases: 0 | 0 passed | 0 failed | 95 skipped\n", testsummary.Counts(skipped=95)),
    ("=== 251 passed, 2 skipped, 5 deselected in 912.04s (0:15:12) ===\n",
     testsummary.Counts(passed=251, skipped=2, deselected=5)),
    ("=== 1 failed, 2 errors, 1 xpassed in 0.1s ===\n", testsummary.Counts(passed=1, failed=3)),
    ("=== no tests ran in 0.00s ===\n", testsummary.Counts()),
    ("renders without warnings\n", None),
    ("=== 3 passed in 1.0s ===\nthen it crashed: === not a summary ===\n", testsummary.Counts(passed=3)),
])
def test_the_runners_summaries_are_read(output, counts):
    assert testsummary.runner_counts(output) == counts


def test_the_steps_file_is_read_as_tools_test_writes_it_and_ci_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    steps = tmp_path / "steps"
    steps.write_text(f"step\tbuild\t0\t185\n"
                     f"tests\tunit tests\t0\t5\t{FIXTURES}/all-well.json\tunit,python-client,man\n")
    assert testsummary.main([str(steps)]) == 0
    steps.write_text(f"tests\tend-to-end\t0\t5\t{FIXTURES}/e2e-not-root.json\te2e\n")
    assert testsummary.main([str(steps)]) == 0
    assert testsummary.main([str(steps), "--ci"]) == 1
    monkeypatch.setenv("CI", "true")
    assert testsummary.main([str(steps)]) == 1
