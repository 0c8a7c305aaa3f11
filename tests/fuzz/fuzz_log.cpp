// A build's output, as hostile as a script can make it (lines past 64 KiB,
// NUL, invalid UTF-8, forged stream marks, no final newline, any chunking),
// through the log's path: the sandbox relay's StreamLines, then in the
// daemon and the CLI LineSplitter, the progress marker parser, and what the
// CLI shows on a terminal: the log lines and the progress line.
#include "builds/log_lines.hpp"
#include "builds/progress.hpp"
#include "cli/progress_line.hpp"
#include "cli/terminal_text.hpp"
#include "fuzz_check.hpp"
#include "sandbox/stream_lines.hpp"

#include <array>
#include <fuzzer/FuzzedDataProvider.h>
#include <string>
#include <vector>

using namespace left4me;

namespace {

// Room for three lines past maxLineBytes; more only slows the fuzzer down.
constexpr std::size_t maxStreamBytes = 3 * LineSplitter::maxLineBytes + 4096;

// What the terminal's progress line promises: no control character, UTF-8
// cut only between code points, at most COLUMNS - 1 of them.
void checkProgressLine(double fraction, const std::string& status, std::size_t columns)
{
    auto line = cli::progressLine(fraction, status, columns);
    FUZZ_CHECK(validUtf8(line));
    FUZZ_CHECK(checkNoControls(line, false) <= std::max<std::size_t>(columns, 2) - 1);
}

void checkLine(const std::string& line)
{
    FUZZ_CHECK(validUtf8(line) && sanitizeUtf8(line) == line);
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    // At most maxLineBytes input bytes, each at most one U+FFFD (3 bytes).
    FUZZ_CHECK(line.size() <= 3 * LineSplitter::maxLineBytes);
    // As the CLI shows it on a terminal: still valid, nothing it could obey.
    auto shown = cli::terminalText(line, cli::Controls::escape);
    FUZZ_CHECK(validUtf8(shown));
    checkNoControls(shown, true);
    if (auto report = parseProgressLine(line))
    {
        FUZZ_CHECK(report->progress == -1.0 || (report->progress >= 0.0 && report->progress <= 1.0));
        FUZZ_CHECK(line.starts_with(progressMarker));
        FUZZ_CHECK(validUtf8(report->status));
        checkProgressLine(report->progress, report->status, line.size() % 200);
    }
}

// The relay's promises for its output OUT: whole lines, each within the
// daemon's limit so it is never split after its mark, a mark exactly on
// the lines of stderr. Returns each stream's lines, mark removed.
std::array<std::vector<std::string>, 2> checkRelayOutput(const std::string& out)
{
    std::array<std::vector<std::string>, 2> lines;
    FUZZ_CHECK(out.empty() || out.back() == '\n');
    std::size_t from = 0;
    while (from < out.size())
    {
        auto end = out.find('\n', from);
        auto line = std::string_view(out).substr(from, end - from);
        FUZZ_CHECK(line.size() <= StreamLines::maxLineBytes);
        auto [stream, text] = unmark(line);
        FUZZ_CHECK(text.find(stderrMark) == std::string_view::npos);
        lines[stream == Stream::out ? 0 : 1].emplace_back(text);
        from = end + 1;
    }
    return lines;
}

// The stream cut into pieces, each piece sent to stdout or stderr as the
// input says, through StreamLines; a stream's lines must not depend on how
// its bytes were cut or interleaved with the other's.
void checkRelay(const std::string& stream, const std::vector<std::size_t>& cuts, const std::vector<bool>& toStderr)
{
    StreamLines interleaved;
    std::string out;
    std::array<std::string, 2> whole;
    std::size_t from = 0;
    for (std::size_t i = 0; i < cuts.size(); ++i)
    {
        auto piece = std::string_view(stream).substr(from, cuts[i] - from);
        interleaved.feed(toStderr[i] ? Stream::err : Stream::out, piece, out);
        whole[toStderr[i] ? 1 : 0] += piece;
        from = cuts[i];
    }
    interleaved.finish(Stream::out, out);
    interleaved.finish(Stream::err, out);

    StreamLines separate;
    std::string outAlone;
    std::string errAlone;
    separate.feed(Stream::out, whole[0], outAlone);
    separate.finish(Stream::out, outAlone);
    separate.feed(Stream::err, whole[1], errAlone);
    separate.finish(Stream::err, errAlone);

    auto mixed = checkRelayOutput(out);
    FUZZ_CHECK(mixed[0] == checkRelayOutput(outAlone)[0]);
    FUZZ_CHECK(mixed[1] == checkRelayOutput(errAlone)[1]);
    FUZZ_CHECK(out.size() >= stream.size()); // nothing is dropped (0x1E grows to U+FFFD)
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size)
{
    FuzzedDataProvider data(bytes, size);
    // The progress line also gets fractions no marker parses to (NaN, inf).
    auto fraction = data.ConsumeFloatingPoint<double>();
    // Small inputs make big streams: a piece may repeat, so that lines past
    // maxLineBytes are in reach without megabyte inputs.
    std::string stream;
    std::vector<std::size_t> cuts; // where the reader's read() calls end
    std::vector<bool> toStderr;    // for the relay: which stream a piece is on
    while (data.remaining_bytes() > 0 && stream.size() < maxStreamBytes)
    {
        toStderr.push_back(data.ConsumeBool());
        auto piece = data.ConsumeRandomLengthString(256);
        std::size_t repeat = 1;
        // Mostly once: a stream near maxStreamBytes costs a hundred small ones.
        switch (data.ConsumeIntegralInRange(0, 15))
        {
        case 14:
            repeat = data.ConsumeIntegralInRange<std::size_t>(2, 255);
            break;
        case 15:
            repeat = data.ConsumeIntegralInRange<std::size_t>(256, 70000);
            break;
        default:
            break;
        }
        for (std::size_t i = 0; i < repeat && stream.size() < maxStreamBytes; ++i)
        {
            stream += piece;
        }
        cuts.push_back(stream.size());
    }

    checkRelay(stream, cuts, toStderr);

    LineSplitter whole;
    std::vector<std::string> expected;
    whole.feed(stream, expected);
    whole.finish(expected);
    FUZZ_CHECK(whole.atLineStart());

    // Lines do not depend on how the stream was cut into reads.
    LineSplitter pieces;
    std::vector<std::string> lines;
    std::size_t from = 0;
    for (auto cut : cuts)
    {
        pieces.feed(std::string_view(stream).substr(from, cut - from), lines);
        from = cut;
    }
    pieces.finish(lines);
    FUZZ_CHECK(lines == expected);

    std::size_t newlines = 0;
    for (char c : stream)
    {
        newlines += c == '\n' ? 1 : 0;
    }
    FUZZ_CHECK(lines.size() >= newlines);
    FUZZ_CHECK(lines.size() <= newlines + 1 + stream.size() / LineSplitter::maxLineBytes);
    for (const auto& line : lines)
    {
        checkLine(line);
    }
    // Valid text with no line split passes unchanged.
    bool split = lines.size() != newlines + (stream.empty() || stream.back() == '\n' ? 0 : 1);
    if (!split && validUtf8(stream))
    {
        std::string joined;
        for (const auto& line : lines)
        {
            joined += line + "\n";
        }
        FUZZ_CHECK(joined == stream || joined == stream + "\n");
    }
    checkProgressLine(fraction, lines.empty() ? std::string() : lines.front(), size % 100);
    return 0;
}
