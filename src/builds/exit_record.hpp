#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// How a build's unit ended, as its ExecStopPost= (left4me-build-exit, run
// by systemd as root outside the sandbox) writes it into the job's state
// directory: one line, "RESULT CODE STATUS", from systemd's $SERVICE_RESULT,
// $EXIT_CODE and $EXIT_STATUS. systemd collects a build unit that ended
// well while no daemon held a reference on it, and with the unit goes what
// it knew; the record stays, so that the next daemon settles such a build
// from what happened rather than from a guess.
namespace left4me {

struct ExitRecord
{
    std::string result;      // systemd's Result=, e.g. "success", "exit-code"
    int32_t exitStatus = -1; // as ExitStatus: the status, 128+N for signal N, -1 if it never ran
};

// The record's line from the three variables (absent ones empty).
std::string formatExitRecord(std::string_view serviceResult, std::string_view exitCode, std::string_view exitStatus);

// The record from TEXT; std::nullopt for anything else, so that a file that
// is not one is never taken for a result.
std::optional<ExitRecord> parseExitRecord(std::string_view text);

} // namespace left4me
