#include "builds/progress.hpp"

#include <charconv>
#include <cmath>

namespace left4me {

std::optional<ProgressReport> parseProgressLine(std::string_view line)
{
    if (line.substr(0, progressMarker.size()) != progressMarker)
    {
        return std::nullopt;
    }
    line.remove_prefix(progressMarker.size());
    auto space = line.find(' ');
    auto number = line.substr(0, space);
    std::string status = space == std::string_view::npos ? std::string() : std::string(line.substr(space + 1));
    if (number == "-")
    {
        return ProgressReport{-1.0, status};
    }
    double percent = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), percent);
    if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(percent) || percent < 0 ||
        percent > 100)
    {
        return std::nullopt;
    }
    return ProgressReport{percent / 100.0, status};
}

} // namespace left4me
