#include "cli/progress_line.hpp"

#include "cli/terminal_text.hpp"

#include <cmath>
#include <cstdio>

namespace left4me::cli {

namespace {

bool isContinuationByte(unsigned char c)
{
    return (c & 0xC0U) == 0x80U;
}

} // namespace

std::string progressLine(double fraction, std::string_view text, size_t columns)
{
    std::string line;
    if (fraction < 0 || std::isnan(fraction))
    {
        line = "[ ... ]";
    }
    else
    {
        char percent[16];
        std::snprintf(percent, sizeof percent, "[%3d%%]",
                      static_cast<int>(std::lround(std::fmin(fraction, 1.0) * 100)));
        line = percent;
    }
    if (!text.empty())
    {
        line += ' ';
        line += terminalText(text, Controls::blank);
    }
    // Cut at COLUMNS - 1 code points (a fair count of cells for the texts a
    // status carries), never inside a UTF-8 sequence.
    size_t limit = columns > 1 ? columns - 1 : 1;
    size_t points = 0;
    for (size_t i = 0; i < line.size(); ++i)
    {
        if (!isContinuationByte(static_cast<unsigned char>(line[i])) && ++points > limit)
        {
            line.resize(i);
            break;
        }
    }
    return line;
}

} // namespace left4me::cli
