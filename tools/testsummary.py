#!/usr/bin/python3
"""The closing summary of tools/test: one row per step, with its time and,
for a test run, what each tier did; then the line

    tests: N passed, M failed, K skipped; <what did not run, or "every tier ran">

The line must not be able to read "0 failed" while something did not run:

- a tier that tools/test expects but that a run's meson log does not hold
  (not registered: e2e without pytest at configure time, -De2e=false) is
  missing, and that is a failure; a run that wrote no log at all (meson
  test finds no test of the suite and writes none) misses every tier;
- a tier that ran no test (all skipped, "no tests ran", all deselected,
  meson's SKIP) did not run: the line says so, and under CI (--ci, or
  CI=true) that fails too;
- a test whose runner reports no failure but which meson failed (a crash,
  a timeout, a sanitizer report at exit) counts as one failure;
- a step that failed (the build, style, fuzzing) is named.

tools/test writes one tab-separated row per step to the steps file:

    step   NAME  STATUS  SECONDS
    tests  NAME  STATUS  SECONDS  MESON_LOG_JSON  TIER[,TIER...]

A tier is a meson test name (unit, python-client, e2e) or a suite (man).
Exit status: 0 when all is well, 1 otherwise."""

import argparse
import dataclasses
import json
import os
import re
import sys

DOCTEST = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")
# pytest's last line: "=== 3 passed, 1 skipped in 0.12s ===", also "in 901.3s (0:15:01)".
PYTEST = re.compile(r"^=+ (.+?) in [\d.]+s(?: \([\d:.]+\))? =+$", re.MULTILINE)
PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|deselected|xfailed|xpassed)")
# meson's results that are not a failure of the test.
MESON_OK = {"OK", "EXPECTEDFAIL"}


@dataclasses.dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    deselected: int = 0

    def __iadd__(self, other):
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self

    def text(self):
        parts = [f"{self.passed} passed"]
        parts += [f"{n} {name}" for n, name in ((self.failed, "failed"), (self.skipped, "skipped"),
                                                (self.deselected, "deselected")) if n]
        return ", ".join(parts)


def runner_counts(output):
    """The counts doctest's or pytest's own summary gives in OUTPUT, or None
    if it has none (another kind of test, or a runner that never finished)."""
    doctest = DOCTEST.findall(output)
    if doctest:
        _total, passed, failed, skipped = map(int, doctest[-1])
        return Counts(passed=passed, failed=failed, skipped=skipped)
    pytest = PYTEST.findall(output)
    if pytest:
        found = {name: int(n) for n, name in PYTEST_COUNT.findall(pytest[-1])}
        # An expected failure (xfail) shows nothing works: it counts as skipped.
        return Counts(passed=found.get("passed", 0) + found.get("xpassed", 0),
                      failed=found.get("failed", 0) + found.get("error", 0) + found.get("errors", 0),
                      skipped=found.get("skipped", 0) + found.get("xfailed", 0),
                      deselected=found.get("deselected", 0))
    return None


@dataclasses.dataclass
class Tier:
    """One expected tier of one run: its counts over every meson test it
    covers, and what went wrong with it, if anything."""

    name: str
    counts: Counts = dataclasses.field(default_factory=Counts)
    tests: int = 0  # meson tests it covers (the man tier has one per page)
    crashes: int = 0  # meson tests that failed with no failure of their runner's
    problems: list = dataclasses.field(default_factory=list)

    @property
    def missing(self):
        return self.tests == 0

    @property
    def did_not_run(self):
        return not self.missing and self.counts.passed == 0 and self.counts.failed == 0

    @property
    def failed(self):
        return self.counts.failed + self.crashes

    def add(self, entry):
        """Adds one record of a meson testlog.json."""
        self.tests += 1
        result = entry.get("result", "")
        status = f"{result.lower()}, exit status {entry.get('returncode')}"
        counts = runner_counts(entry.get("stdout") or "")
        if counts is None:
            # A test with no runner of its own (a man page check), or a
            # runner that died before its summary: meson's result is all
            # there is.
            counts = Counts()
            if result in MESON_OK:
                counts.passed = 1
            elif result == "SKIP":
                counts.skipped = 1
            else:
                self.crashes += 1
                self.problems.append(f"{status}, no summary")
        elif result not in MESON_OK | {"SKIP"} and counts.failed == 0:
            self.crashes += 1
            self.problems.append(f"{status}, though its summary shows no failure")
        self.counts += counts


def record_name(entry):
    """("suite", "name") of "project:suite / name", meson's record name."""
    full = entry.get("name", "")
    suite, _, name = full.partition(" / ")
    return suite.rpartition(":")[2], name or full


def read_meson_log(path):
    """The records of a meson testlog.json, or None when there is no file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return None


def tiers_of_run(records, expected):
    """The EXPECTED tiers, each with the records that belong to it; records
    that belong to none form tiers of their own, so nothing goes uncounted."""
    tiers = {name: Tier(name) for name in expected}
    for entry in records or []:
        suite, name = record_name(entry)
        tier = tiers.get(name) or tiers.get(suite) or tiers.setdefault(name, Tier(name))
        tier.add(entry)
    return list(tiers.values())


@dataclasses.dataclass
class Step:
    name: str
    status: int
    seconds: int
    log: str = None
    tiers: list = None

    @property
    def is_run(self):
        return self.log is not None


def read_steps(path):
    steps = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "step":
                steps.append(Step(fields[1], int(fields[2]), int(fields[3])))
            elif fields[0] == "tests":
                expected = [t for t in fields[5].split(",") if t] if len(fields) > 5 else []
                step = Step(fields[1], int(fields[2]), int(fields[3]), fields[4], expected)
                step.tiers = tiers_of_run(read_meson_log(step.log), expected)
                steps.append(step)
    return steps


def duration(seconds):
    return f"{seconds // 60}:{seconds % 60:02d}"


def tier_text(tier):
    if tier.missing:
        return f"{tier.name} MISSING"
    text = f"{tier.name} {tier.counts.text()}"
    if tier.did_not_run:
        text += " (DID NOT RUN)"
    if tier.problems:
        text += " (" + "; ".join(tier.problems) + ")"
    return text


def summarize(steps, ci):
    """The summary's lines (the last is the pass line) and the exit status."""
    lines = []
    total = Counts()
    crashes = 0
    failed_steps, missing, not_run = [], [], []
    width = max([len(s.name) for s in steps] + [5])
    for step in steps:
        status = "ok" if step.status == 0 else f"FAILED ({step.status})"
        row = f"{step.name:<{width}}  {status:<11} {duration(step.seconds):>6}"
        if step.status != 0:
            failed_steps.append(step.name)
        if step.is_run:
            row += "  " + "; ".join(tier_text(t) for t in step.tiers)
            for tier in step.tiers:
                total += tier.counts
                crashes += tier.crashes
                if tier.missing:
                    missing.append(f"{tier.name} ({step.name})")
                elif tier.did_not_run:
                    not_run.append(f"{tier.name} ({step.name}: {tier.counts.text()})")
        lines.append(row)
    lines.append(f"{'total':<{width}}  {'':<11} {duration(sum(s.seconds for s in steps)):>6}")

    # A missing tier counts as one failure, as does a crashed test.
    failed = total.failed + crashes + len(missing)
    line = f"tests: {total.passed} passed, {failed} failed, {total.skipped} skipped"
    problems = []
    if missing:
        problems.append("missing from the build: " + ", ".join(missing))
    if not_run:
        problems.append("did not run: " + ", ".join(not_run))
    if failed_steps:
        problems.append("failed steps: " + ", ".join(failed_steps))
    line += "; " + ("; ".join(problems) if problems else "every tier ran")
    lines.append(line)
    bad = bool(failed or failed_steps or (ci and not_run))
    return lines, 1 if bad else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("steps", help="the steps file tools/test wrote")
    parser.add_argument("--ci", action="store_true", default=os.environ.get("CI") == "true",
                        help="a tier that did not run fails (default: when CI=true)")
    args = parser.parse_args(argv)
    lines, status = summarize(read_steps(args.steps), args.ci)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
