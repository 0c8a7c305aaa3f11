// A build's output, as hostile as a script can make it (lines past 64 KiB,
// NUL, invalid UTF-8, no final newline, any chunking), through the log's
// path in the daemon and the CLI: LineSplitter, the progress marker parser
// and the terminal's progress line.
#include "build/log_lines.hpp"
#include "build/progress.hpp"
#include "cli/progress_line.hpp"
#include "fuzz_check.hpp"

#include <glib.h>

#include <fuzzer/FuzzedDataProvider.h>

using namespace left4me;

namespace {

// Room for three lines past maxLineBytes; more only slows the fuzzer down.
constexpr std::size_t maxStreamBytes = 3 * LineSplitter::maxLineBytes + 4096;

bool validUtf8(std::string_view text)
{
    // glib's validator, not ours: and with a length, it refuses NUL too.
    return g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr) != 0;
}

// What the terminal's progress line promises: no control character (C0,
// DEL or C1), UTF-8 cut only between code points, at most COLUMNS - 1 of them.
void checkProgressLine(double fraction, const std::string& status, std::size_t columns)
{
    auto line = cli::progressLine(fraction, status, columns);
    FUZZ_CHECK(validUtf8(line));
    std::size_t points = 0;
    for (const char* p = line.c_str(); *p != '\0'; p = g_utf8_next_char(p))
    {
        auto c = g_utf8_get_char(p);
        FUZZ_CHECK(c >= 0x20 && !(c >= 0x7f && c <= 0x9f));
        ++points;
    }
    FUZZ_CHECK(points <= std::max<std::size_t>(columns, 2) - 1);
}

void checkLine(const std::string& line)
{
    FUZZ_CHECK(validUtf8(line) && sanitizeUtf8(line) == line);
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    // At most maxLineBytes input bytes, each at most one U+FFFD (3 bytes).
    FUZZ_CHECK(line.size() <= 3 * LineSplitter::maxLineBytes);
    if (auto report = parseProgressLine(line))
    {
        FUZZ_CHECK(report->progress == -1.0 || (report->progress >= 0.0 && report->progress <= 1.0));
        FUZZ_CHECK(line.starts_with(progressMarker));
        FUZZ_CHECK(validUtf8(report->status));
        checkProgressLine(report->progress, report->status, line.size() % 200);
    }
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
    while (data.remaining_bytes() > 0 && stream.size() < maxStreamBytes)
    {
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
