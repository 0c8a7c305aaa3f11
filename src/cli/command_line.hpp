#pragma once

// The command line of left4me-builderctl, parsed without touching the bus so
// that it is unit-tested: commands, their arguments and options, and the
// conversions (sizes, numbers, job references) the commands need.
#include <sdbus-c++/Types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace left4me::cli {

// A mistake on the command line: printed with a hint to --help, exit 2.
class UsageError : public std::runtime_error
{
  public:
    using std::runtime_error::runtime_error;
};

struct OptionSpec
{
    std::string_view name;     // long name without "--"
    std::string_view argument; // "" for a flag, else the placeholder shown in --help
    std::string_view help;     // English msgid, translated when printed
    bool repeatable = false;
    char shortName = '\0'; // as systemd's tools spell it: -H, -M, -q; '\0' for none
};

struct CommandSpec
{
    std::string_view name;
    std::string_view arguments; // placeholders shown in --help, e.g. "OVERLAY SCRIPT|-"
    std::string_view summary;   // English msgid
    size_t minArgs = 0;
    size_t maxArgs = 0; // SIZE_MAX: any number
    std::vector<OptionSpec> options;
};

// Every command, in the order --help lists them.
const std::vector<CommandSpec>& commands();
// Options every command accepts, before or after its name.
const std::vector<OptionSpec>& globalOptions();

struct CommandLine
{
    const CommandSpec* command = nullptr; // null with --help or --version alone
    std::vector<std::string> args;
    // Long option name -> its values, in order (a flag has one empty value).
    std::map<std::string, std::vector<std::string>, std::less<>> options;

    [[nodiscard]] bool has(std::string_view name) const { return options.contains(name); }
    [[nodiscard]] std::optional<std::string> value(std::string_view name) const;
    [[nodiscard]] std::vector<std::string> values(std::string_view name) const;
};

// Parses ARGS (without argv[0]). --help and --version are recorded and skip
// the argument count check; everything else wrong throws UsageError.
CommandLine parseCommandLine(std::span<const std::string> args);

// "512M" -> 536870912. Suffixes K, M, G, T are powers of 1024; none means
// bytes. Throws UsageError naming WHAT.
uint64_t parseSize(std::string_view text, std::string_view what);
// A decimal number in [MIN, MAX]. Throws UsageError naming WHAT.
uint64_t parseNumber(std::string_view text, std::string_view what, uint64_t min = 0, uint64_t max = UINT64_MAX);

// StartBuild's options from build's command-line options (SIZE suffixes,
// numbers); the service validates the values against its limits.
std::map<std::string, sdbus::Variant> buildOptionsOf(const CommandLine& line);

// Checks every argument that can be checked without the service (sizes,
// numbers, job references), so that a typo never reaches the bus. Throws
// UsageError.
void checkArguments(const CommandLine& line);

// A job given as its Id ("7") or its object path: the object path.
std::string jobPathOf(std::string_view reference);

} // namespace left4me::cli
