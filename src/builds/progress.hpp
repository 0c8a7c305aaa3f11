#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace left4me {

// A script reports progress with the shipped helper, `left4me-progress
// PERCENT|- [STATUS TEXT]`, which prints one marker line into the build's
// log: "::left4me-progress:: 42 Downloading maps". The line stays in the log
// (so a replay shows it too); the daemon turns it into the job's Progress
// and StatusText properties.
inline constexpr std::string_view progressMarker = "::left4me-progress:: ";

struct ProgressReport
{
    double progress; // 0..1, or -1 when unknown ("-")
    std::string status;
};

// The report in LINE, or nullopt if LINE is not a well-formed marker line.
std::optional<ProgressReport> parseProgressLine(std::string_view line);

} // namespace left4me
