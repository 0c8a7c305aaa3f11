#pragma once

#include "ops/options.hpp"
#include "util/config.hpp"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace left4me {

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

// StartBuild's options and the D-Bus type of each (the XML's Options
// annotation says the same; tests/unit holds them together).
const OptionTable& buildOptionTable();

// Validates OPTIONS (already type-checked against buildOptionTable())
// against the configured ceilings. Returns the options or a sentence naming
// the key and the rule it broke.
std::variant<BuildOptions, std::string> parseBuildOptions(const std::map<std::string, OptionValue>& options,
                                                          const BuildLimits& ceilings);

// One StartBuild, checked: what BuildService::start takes.
struct BuildRequest
{
    uid_t caller = 0; // the job's owner
    std::string overlay;
    std::string script;
    BuildOptions options;
};

// The request from StartBuild's arguments, each checked, and its options
// (already of the table's types) checked against the configured CEILINGS.
// Throws OpError (invalidArgument) naming the argument and the rule.
BuildRequest buildRequest(uid_t caller, std::string overlay, std::string script, const PlainOptions& options,
                          const BuildLimits& ceilings);

// The identity of a build: sha256 over the script and the effective options
// in a canonical form. Equal hashes mean the same inputs.
std::string buildHash(const std::string& script, const BuildOptions& options);

// SOURCE_DATE_EPOCH for a build, derived from its hash alone (never from the
// clock): a second between 1980 and 2010 picked by the hash's first 32 bits.
uint64_t sourceDateEpoch(const std::string& buildHash);

} // namespace left4me
