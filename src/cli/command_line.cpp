#include "cli/command_line.hpp"

#include "bus/names.hpp"
#include "cli/i18n.hpp"
#include "util/job_path.hpp"

#include <algorithm>
#include <charconv>
#include <climits>

namespace left4me::cli {

namespace {

constexpr size_t any = SIZE_MAX;

const CommandSpec* findCommand(std::string_view name)
{
    for (const auto& command : commands())
    {
        if (command.name == name)
        {
            return &command;
        }
    }
    return nullptr;
}

const OptionSpec* findOption(const std::vector<OptionSpec>& options, std::string_view name)
{
    auto it = std::find_if(options.begin(), options.end(), [&](const OptionSpec& o) { return o.name == name; });
    return it == options.end() ? nullptr : &*it;
}

// Only global options have a short name.
const OptionSpec* findShortOption(char shortName)
{
    const auto& options = globalOptions();
    auto it = std::find_if(options.begin(), options.end(),
                           [&](const OptionSpec& o) { return shortName != '\0' && o.shortName == shortName; });
    return it == options.end() ? nullptr : &*it;
}

} // namespace

const std::vector<OptionSpec>& globalOptions()
{
    static const std::vector<OptionSpec> options = {
        {"help", "", N_("Show this help, or the help of COMMAND"), false, 'h'},
        {"version", "", N_("Show the version")},
        {"json", "", N_("Print machine-readable JSON")},
        {"no-ask-password", "", N_("Never ask for a password; fail if authentication is needed")},
        {"host", "[USER@]HOST[:PORT]", N_("Talk to the service on HOST, over ssh and systemd-stdio-bridge"), false,
         'H'},
        {"machine", "CONTAINER", N_("Talk to the service in the local container CONTAINER"), false, 'M'},
        {"quiet", "", N_("Print no progress line and no informational output; errors still show"), false, 'q'},
    };
    return options;
}

const std::vector<CommandSpec>& commands()
{
    static const std::vector<CommandSpec> list = {
        {"build",
         "OVERLAY SCRIPT|-",
         N_("Run SCRIPT (a file, or - for standard input) in the build sandbox on OVERLAY and stream its log"),
         2,
         2,
         {{"memory-max", "SIZE", N_("Memory limit; K, M, G and T suffixes are powers of 1024")},
          {"cpu-quota", "PCT", N_("CPU limit in percent of one CPU")},
          {"tasks-max", "N", N_("Limit on processes and threads")},
          {"timeout", "SEC", N_("Stop the build after SEC seconds")},
          {"network", "public|none", N_("public: public internet only (default); none: no network")},
          {"env", "KEY=VALUE", N_("Set an environment variable in the sandbox"), true},
          {"skip-if-unchanged", "", N_("Do not run if the last successful build had the same inputs")},
          {"no-follow", "", N_("Print the job's Id and return at once")}}},
        {"jobs",
         "",
         N_("List running jobs"),
         0,
         0,
         {{"all", "", N_("Also list jobs that have ended")}, {"no-legend", "", N_("Print no column headers")}}},
        {"status", "JOB", N_("Show the properties of a job"), 1, 1, {}},
        {"log",
         "JOB",
         N_("Print the log of a job"),
         1,
         1,
         {{"from", "N", N_("Start at line N (lines count from 0)")},
          {"follow", "", N_("Keep printing new lines until the job ends")}}},
        {"cancel", "JOB", N_("Cancel a job and wait until it has ended"), 1, 1, {}},
        {"mount",
         "INSTANCE LAYER...",
         N_("Mount an overlay of the layers (topmost first) for a game-server instance"),
         2,
         any,
         {{"read-only", "", N_("Mount without an upper directory")},
          {"persistent", "", N_("Keep the mount across reboots")}}},
        {"unmount", "INSTANCE", N_("Unmount the overlay of an instance"), 1, 1, {}},
        {"mounts", "", N_("List mounted instances"), 0, 0, {{"no-legend", "", N_("Print no column headers")}}},
        {"caps",
         "ADDON VERSION BINARY [CAP...]",
         N_("Set exactly these file capabilities on an add-on binary (none: remove them)"),
         3,
         any,
         {{"activate", "", N_("Then make VERSION the add-on's current version")}}},
        {"units",
         "install ADDON VERSION UNIT...|remove ADDON|list",
         N_("Install an add-on's systemd units from its version's units/ directory, remove them, or list them"),
         1,
         any,
         {{"enable", "UNIT", N_("install: enable UNIT (may be given more than once)"), true},
          {"now", "", N_("install: also start the enabled units, or restart them")},
          {"no-legend", "", N_("list: print no column headers")}}},
        {"server",
         "enable|disable INSTANCE",
         N_("Enable or disable a game-server instance at boot"),
         2,
         2,
         {{"template", "TEMPLATE", N_("An instance of TEMPLATE (default: the first configured one)")},
          {"now", "", N_("Also start (enable) or stop (disable) the instance")}}},
    };
    return list;
}

std::optional<std::string> CommandLine::value(std::string_view name) const
{
    auto it = options.find(name);
    if (it == options.end() || it->second.empty())
    {
        return std::nullopt;
    }
    return it->second.back();
}

std::vector<std::string> CommandLine::values(std::string_view name) const
{
    auto it = options.find(name);
    return it == options.end() ? std::vector<std::string>{} : it->second;
}

CommandLine parseCommandLine(std::span<const std::string> args)
{
    CommandLine line;
    bool onlyArguments = false;
    // Options are checked once the command is known: they may come first.
    struct Given
    {
        std::string name;
        std::string value;
        bool hasValue;
    };
    std::vector<Given> given;
    for (size_t i = 0; i < args.size(); ++i)
    {
        const std::string& arg = args[i];
        if (!onlyArguments && arg == "--")
        {
            onlyArguments = true;
            continue;
        }
        if (!onlyArguments && arg.starts_with("-") && !arg.starts_with("--") && arg != "-")
        {
            // -h, -q; -H HOST or -HHOST, as getopt takes them.
            const OptionSpec* spec = findShortOption(arg[1]);
            if (spec == nullptr || (spec->argument.empty() && arg.size() > 2))
            {
                throw UsageError(format(N_("unknown option %s"), arg));
            }
            if (spec->argument.empty())
            {
                given.push_back({std::string(spec->name), "", false});
                continue;
            }
            if (arg.size() == 2 && i + 1 == args.size())
            {
                throw UsageError(format(N_("option %s needs a value (%s %s)"), arg, arg, spec->argument));
            }
            given.push_back({std::string(spec->name), arg.size() > 2 ? arg.substr(2) : args[++i], true});
            continue;
        }
        if (!onlyArguments && arg.starts_with("--"))
        {
            auto eq = arg.find('=');
            std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            std::string value = eq == std::string::npos ? std::string() : arg.substr(eq + 1);
            if (eq != std::string::npos && value.empty())
            {
                throw UsageError(format(N_("option --%s needs a value"), name));
            }
            given.push_back({name, value, eq != std::string::npos});
            continue;
        }
        if (line.command == nullptr && line.args.empty())
        {
            line.command = findCommand(arg);
            if (line.command == nullptr)
            {
                throw UsageError(format(N_("unknown command %s"), arg));
            }
            continue;
        }
        line.args.push_back(arg);
    }
    if (line.command == nullptr && !line.args.empty())
    {
        throw UsageError(_("no command given"));
    }

    for (const auto& [name, value, hasValue] : given)
    {
        const OptionSpec* spec = findOption(globalOptions(), name);
        if (spec == nullptr && line.command != nullptr)
        {
            spec = findOption(line.command->options, name);
        }
        if (spec == nullptr)
        {
            throw UsageError(line.command != nullptr ? format(N_("unknown option --%s for this command"), name)
                                                     : format(N_("unknown option --%s"), name));
        }
        bool flag = spec->argument.empty();
        if (flag && hasValue)
        {
            throw UsageError(format(N_("option --%s takes no value"), name));
        }
        if (!flag && !hasValue)
        {
            throw UsageError(format(N_("option --%s needs a value (--%s=%s)"), name, name, spec->argument));
        }
        auto& values = line.options[name];
        if (!values.empty() && !spec->repeatable && !flag)
        {
            throw UsageError(format(N_("option --%s given twice"), name));
        }
        values.push_back(value);
    }

    if (line.has("help") || line.has("version"))
    {
        return line;
    }
    if (line.command == nullptr)
    {
        throw UsageError(_("no command given"));
    }
    if (line.args.size() < line.command->minArgs)
    {
        throw UsageError(format(N_("too few arguments; usage: %s %s"), line.command->name, line.command->arguments));
    }
    if (line.args.size() > line.command->maxArgs)
    {
        throw UsageError(format(N_("too many arguments; usage: %s %s"), line.command->name, line.command->arguments));
    }
    return line;
}

uint64_t parseNumber(std::string_view text, std::string_view what, uint64_t min, uint64_t max)
{
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < min || value > max)
    {
        std::string range = std::to_string(min) + "…" + (max == UINT64_MAX ? "" : std::to_string(max));
        throw UsageError(format(N_("%s must be a whole number in %s, not \"%s\""), what, range, text));
    }
    return value;
}

uint64_t parseSize(std::string_view text, std::string_view what)
{
    unsigned shift = 0;
    if (!text.empty())
    {
        switch (text.back())
        {
        case 'K':
        case 'k':
            shift = 10;
            break;
        case 'M':
        case 'm':
            shift = 20;
            break;
        case 'G':
        case 'g':
            shift = 30;
            break;
        case 'T':
        case 't':
            shift = 40;
            break;
        default:
            break;
        }
    }
    std::string_view digits = shift == 0 ? text : text.substr(0, text.size() - 1);
    uint64_t number = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || number == 0 ||
        number > (UINT64_MAX >> shift))
    {
        throw UsageError(format(N_("%s must be a size such as 512M or 2G, not \"%s\""), what, text));
    }
    return number << shift;
}

std::map<std::string, sdbus::Variant> buildOptionsOf(const CommandLine& line)
{
    std::map<std::string, sdbus::Variant> options;
    if (auto value = line.value("memory-max"))
    {
        options["memory_max"] = parseSize(*value, "--memory-max");
    }
    if (auto value = line.value("cpu-quota"))
    {
        options["cpu_quota"] = static_cast<uint32_t>(parseNumber(*value, "--cpu-quota", 1, UINT32_MAX));
    }
    if (auto value = line.value("tasks-max"))
    {
        options["tasks_max"] = parseNumber(*value, "--tasks-max", 1);
    }
    if (auto value = line.value("timeout"))
    {
        options["timeout_sec"] = parseNumber(*value, "--timeout", 1);
    }
    if (auto value = line.value("network"))
    {
        options["network"] = *value;
    }
    if (line.has("env"))
    {
        options["environment"] = line.values("env");
    }
    if (line.has("skip-if-unchanged"))
    {
        options["skip_if_unchanged"] = true;
    }
    return options;
}

void checkArguments(const CommandLine& line)
{
    std::string_view name = line.command->name;
    if (name == "build")
    {
        (void)buildOptionsOf(line);
    }
    if (name == "status" || name == "log" || name == "cancel")
    {
        (void)jobPathOf(line.args[0]);
    }
    if (name == "server" && line.args[0] != "enable" && line.args[0] != "disable")
    {
        throw UsageError(format(N_("server takes enable or disable, not \"%s\""), line.args[0]));
    }
    if (auto from = line.value("from"))
    {
        (void)parseNumber(*from, "--from");
    }
}

std::string jobPathOf(std::string_view reference)
{
    auto id = jobIdFromReference(reference);
    if (!id)
    {
        throw UsageError(format(N_("%s is not a job; give its Id (a number) or its object path"), reference));
    }
    return jobPath(*id);
}

} // namespace left4me::cli
