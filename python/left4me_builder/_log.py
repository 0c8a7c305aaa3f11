"""Log lines as the service stores and signals them: numbers, the stderr
mark, the merge of replayed and live lines, and progress marker lines."""

from __future__ import annotations

import math
import re
from typing import List, Literal, NamedTuple, Optional, Sequence, Tuple

# A line the script wrote to stderr starts with this (ASCII RS); see the Log
# signal's documentation in org.left4me.Builder(5). The service turns an RS
# the script itself writes into U+FFFD, so a stdout line never starts so.
STDERR_MARK = "\x1e"

Stream = Literal["stdout", "stderr"]


class LogLine(NamedTuple):
    """One line of a build's log: its NUMBER (from 0, stdout and stderr
    counted together, as in Log and ReadLog), the STREAM it was written to
    ("stdout" or "stderr"), and its TEXT without the stream mark.

    TEXT is not byte for byte what the script wrote: the newline is gone,
    invalid UTF-8 and NUL bytes are U+FFFD, a line over 65536 bytes comes
    as several lines, and a carriage return does not end a line (a
    `curl`-style progress meter that redraws itself with \\r arrives as one
    long line once it prints \\n, or as 64 KiB pieces)."""

    number: int
    stream: Stream
    text: str

    @classmethod
    def parse(cls, number: int, line: str) -> "LogLine":
        """The LogLine of LINE as Log and ReadLog give it."""
        if line.startswith(STDERR_MARK):
            return cls(number, "stderr", line[1:])
        return cls(number, "stdout", line)


def split_stream(line: str) -> Tuple[Stream, str]:
    """("stdout" or "stderr", text) of a log line as Log and ReadLog give it."""
    if line.startswith(STDERR_MARK):
        return "stderr", line[1:]
    return "stdout", line


def log_lines(first: int, lines: Sequence[str]) -> List[LogLine]:
    """LINES (as signalled, the first numbered FIRST) as LogLines."""
    return [LogLine.parse(number, line) for number, line in enumerate(lines, first)]


def merge(next_line: int, first_line: int, lines: List[str]) -> Optional[List[str]]:
    """What a Log batch adds for a reader that has every line before NEXT_LINE.

    Returns the lines to deliver, numbered from NEXT_LINE: all of LINES, its
    tail (a replay already delivered the head) or nothing (a replay covered
    it all). Returns None when the batch starts after NEXT_LINE: lines are
    missing in between, and the reader fills them with ReadLog first."""
    if first_line > next_line:
        return None
    if first_line == next_line:
        return lines
    return lines[next_line - first_line:]


# What `left4me-progress PERCENT|- [TEXT]` prints. The daemon's rules
# (src/builds/progress.cpp, parseProgressLine) decide which lines are
# reports; parse_progress() follows them exactly, and both are tested
# against one table of cases (tests/unit/progress_cases.json).
PROGRESS_MARKER = "::left4me-progress:: "

# std::from_chars's decimal syntax: an optional minus, digits with an
# optional point (or a point and digits), an optional exponent. No plus
# sign, no spaces, no hex, no underscores, ASCII digits only (Python's
# float() accepts all of those).
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z", re.ASCII)


def parse_progress(line: str) -> Optional[Tuple[float, str]]:
    """(fraction, text) if LINE (as Log and ReadLog give it) is a progress
    report the daemon counts, else None. FRACTION is 0..1, or -1 for "-"
    (progress unknown). A line on stderr is never a report."""
    if not line.startswith(PROGRESS_MARKER):
        return None
    number, _, text = line[len(PROGRESS_MARKER):].partition(" ")
    if number == "-":
        return -1.0, text
    if not _DECIMAL.match(number):
        return None
    percent = float(number)
    # from_chars answers result_out_of_range where float() rounds to 0 or inf.
    if percent == 0 and any(c in "123456789" for c in number.lower().partition("e")[0]):
        return None
    if not math.isfinite(percent) or percent < 0 or percent > 100:
        return None
    return percent / 100.0, text
