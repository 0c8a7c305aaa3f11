#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace left4me {

// The build log's one convention for telling the streams apart: a line the
// script wrote to stderr starts with this byte (ASCII RS, "record
// separator"); a line from stdout is stored as written. A 0x1E byte in the
// script's own output becomes U+FFFD, so the mark cannot be forged by
// accident and a stdout line never starts with it.
inline constexpr char stderrMark = '\x1e';

// The environment variable that gives left4me-build-run the log's size
// limit in bytes, and the exit status with which it reports that the limit
// stopped the build.
inline constexpr const char* logLimitVariable = "LEFT4ME_LOG_LIMIT";
inline constexpr int logLimitExitStatus = 125;
// How its last line, on stderr, begins then.
inline constexpr const char* logLimitMessage = "left4me-build-run: the log reached its limit";
// The same when the log cannot be written (a full disk, a quota): the relay
// keeps room allocated past the log's end for this line, stops the build
// and exits 124; the daemon reports result "log-write-failed".
inline constexpr int logWriteFailedExitStatus = 124;
inline constexpr const char* logWriteFailedMessage = "left4me-build-run: cannot write the log";

enum class Stream
{
    out,
    err,
};

// A stored or delivered log line, told apart again: which stream it came
// from, and its text without the mark. Header-only: the clients use it too.
struct MarkedLine
{
    Stream stream;
    std::string_view text;
};

inline MarkedLine unmark(std::string_view line)
{
    if (!line.empty() && line.front() == stderrMark)
    {
        return {Stream::err, line.substr(1)};
    }
    return {Stream::out, line};
}

// Turns the script's two byte streams into the log's one stream of whole,
// marked lines, so that a line from one stream is never cut into by the
// other. Pure; the relay in the sandbox (left4me-build-run) feeds it.
class StreamLines
{
  public:
    // The daemon splits lines longer than this (log_lines.hpp); a marked
    // line, mark included, never exceeds it, so it is never split after
    // its mark.
    static constexpr std::size_t maxLineBytes = std::size_t{64} * 1024;

    // Appends to OUT every line of STREAM that CHUNK completes.
    void feed(Stream stream, std::string_view chunk, std::string& out);
    // At the end: STREAM's unfinished last line, if any, with a newline.
    void finish(Stream stream, std::string& out);

  private:
    // Adds BYTES (neither a newline nor the mark among them) to STREAM's
    // partial line, emitting the line whenever it is full and more comes.
    void append(Stream stream, std::string_view bytes, std::string& out);
    void emit(Stream stream, std::string& out);
    // Appends LINE to OUT as the log stores it: marked if from stderr, ended.
    static void put(Stream stream, std::string_view line, std::string& out);
    std::string& partial(Stream stream) { return stream == Stream::out ? out_ : err_; }
    static std::size_t limit(Stream stream) { return stream == Stream::out ? maxLineBytes : maxLineBytes - 1; }

    std::string out_;
    std::string err_;
};

} // namespace left4me
