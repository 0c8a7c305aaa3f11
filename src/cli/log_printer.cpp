#include "cli/log_printer.hpp"

#include "builds/progress.hpp"
#include "cli/output.hpp"
#include "cli/progress_line.hpp"
#include "cli/terminal_text.hpp"
#include "sandbox/stream_lines.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

namespace left4me::cli {

namespace {

size_t terminalColumns()
{
    winsize size{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    {
        return size.ws_col;
    }
    return 80;
}

} // namespace

LogPrinter::LogPrinter(bool json, bool progress)
    : json_(json), escapeOut_(!json && ::isatty(STDOUT_FILENO) == 1), escapeErr_(::isatty(STDERR_FILENO) == 1),
      progressLine_(progress && escapeOut_)
{
}

LogPrinter::~LogPrinter()
{
    finish();
}

void LogPrinter::lines(uint64_t first, std::span<const std::string> lines)
{
    if (json_)
    {
        for (const auto& line : lines)
        {
            auto [stream, text] = unmark(line);
            printJsonLine({{"line", first++}, {"stream", stream == Stream::err ? "stderr" : "stdout"}, {"text", text}});
        }
        return;
    }
    erase();
    for (const auto& line : lines)
    {
        if (progressLine_ && parseProgressLine(line))
        {
            // Shown as the progress line it became, not a second time among
            // the log lines (left4me-progress(1): log and --json keep it).
            continue;
        }
        // The script's stderr lines go to ours, its stdout lines to our
        // stdout; each is flushed before the other is written, so that one
        // pipe or terminal behind both (2>&1) has them in the log's order.
        auto [stream, text] = unmark(line);
        std::FILE* to = stream == Stream::err ? stderr : stdout;
        if (to == stderr)
        {
            std::fflush(stdout);
        }
        if (to == stderr ? escapeErr_ : escapeOut_)
        {
            std::string shown = terminalText(text, Controls::escape);
            std::fwrite(shown.data(), 1, shown.size(), to);
        }
        else
        {
            std::fwrite(text.data(), 1, text.size(), to);
        }
        std::fputc('\n', to);
    }
    draw();
    std::fflush(stdout);
}

void LogPrinter::progress(double fraction, const std::string& text)
{
    fraction_ = fraction;
    text_ = text;
    erase();
    draw();
    std::fflush(stdout);
}

void LogPrinter::note(const std::string& text)
{
    erase();
    std::fflush(stdout);
    std::fprintf(stderr, "left4me-builderctl: %s\n", text.c_str());
    draw();
    std::fflush(stdout);
}

void LogPrinter::finish()
{
    erase();
    std::fflush(stdout);
}

void LogPrinter::erase()
{
    if (drawn_)
    {
        // Back to the start of the progress line and clear it: the next log
        // line takes its place, and the progress line is drawn again below.
        std::fputs("\r\033[K", stdout);
        drawn_ = false;
    }
}

void LogPrinter::draw()
{
    if (!progressLine_ || (fraction_ < 0 && text_.empty()))
    {
        return;
    }
    std::string line = progressLine(fraction_, text_, terminalColumns());
    std::fwrite(line.data(), 1, line.size(), stdout);
    drawn_ = true;
}

} // namespace left4me::cli
