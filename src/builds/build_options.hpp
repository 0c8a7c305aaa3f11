#pragma once

#include "util/config.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace left4me {

// An a{sv} value in plain types, converted from the bus by its signature.
using OptionValue = std::variant<bool, uint32_t, uint64_t, std::string, std::vector<std::string>>;

enum class Network
{
    publicOnly, // public unicast egress only (the template's allow list)
    none,       // no IP traffic at all
};

// StartBuild's options after validation, with the configuration's defaults
// filled in.
struct BuildOptions
{
    BuildLimits limits;
    Network network = Network::publicOnly;
    std::vector<std::string> environment; // KEY=VALUE
    bool skipIfUnchanged = false;
};

// The signature each StartBuild option must have.
const std::map<std::string, std::string>& buildOptionSignatures();

// Validates OPTIONS (already type-checked against buildOptionSignatures())
// against the configured ceilings. Returns the options or a sentence naming
// the key and the rule it broke.
std::variant<BuildOptions, std::string> parseBuildOptions(const std::map<std::string, OptionValue>& options,
                                                          const BuildLimits& ceilings);

// The identity of a build: sha256 over the script and the effective options
// in a canonical form. Equal hashes mean the same inputs.
std::string buildHash(const std::string& script, const BuildOptions& options);

// SOURCE_DATE_EPOCH for a build, derived from its hash alone (never from the
// clock): a second between 1980 and 2010 picked by the hash's first 32 bits.
uint64_t sourceDateEpoch(const std::string& buildHash);

} // namespace left4me
