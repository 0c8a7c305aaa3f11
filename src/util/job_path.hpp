#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// A job's object path and its id, both ways, for the daemon and the CLI
// alike: /org/left4me/Builder/job/<id>, the id without leading zeros.
namespace left4me {

std::string jobPath(uint64_t id);
// The id in PATH, or nullopt if PATH is not a job's.
std::optional<uint64_t> jobIdFromPath(std::string_view path);
// The id in REFERENCE, a job's path or its id in decimal; nullopt otherwise.
std::optional<uint64_t> jobIdFromReference(std::string_view reference);

} // namespace left4me
