#include "cli/log_cursor.hpp"

namespace left4me::cli {

std::span<const std::string> LogCursor::take(uint64_t first, std::span<const std::string> lines)
{
    if (first > next_ || first + lines.size() <= next_)
    {
        return {};
    }
    auto fresh = lines.subspan(next_ - first);
    next_ += fresh.size();
    return fresh;
}

} // namespace left4me::cli
