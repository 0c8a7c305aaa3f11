#pragma once

// Prints a job's log lines: as they are to a pipe or file, as JSON Lines
// with --json, and on a terminal with their control characters shown, not
// obeyed (terminal_text.hpp), and a progress line kept below them, which
// takes the place of the progress marker lines.
#include <cstdint>
#include <span>
#include <string>

namespace left4me::cli {

class LogPrinter
{
  public:
    // PROGRESS: keep the progress line (only ever drawn on a terminal).
    LogPrinter(bool json, bool progress);
    LogPrinter(const LogPrinter&) = delete;
    LogPrinter& operator=(const LogPrinter&) = delete;
    ~LogPrinter();

    void lines(uint64_t first, std::span<const std::string> lines);
    void progress(double fraction, const std::string& text);
    // One line of our own on stderr ("left4me-builderctl: TEXT"), between
    // the log lines, the progress line kept below it.
    void note(const std::string& text);
    // Erases the progress line; the terminal is left as if it never was.
    void finish();

  private:
    void erase();
    void draw();

    bool json_;
    bool escapeOut_;    // stdout is a terminal (and not --json)
    bool escapeErr_;    // stderr is a terminal
    bool progressLine_; // asked for, and escapeOut_: only ever on a terminal
    bool drawn_ = false;
    double fraction_ = -1;
    std::string text_;
};

} // namespace left4me::cli
