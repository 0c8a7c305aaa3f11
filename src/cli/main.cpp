// left4me-builderctl: the command-line client of org.left4me.Builder. See
// left4me-builderctl(1).
#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/i18n.hpp"
#include "cli/session.hpp"
#include "config.h"

#include <sdbus-c++/Error.h>

#include <cstdio>
#include <map>

namespace {

using namespace left4me::cli;

constexpr const char* program = "left4me-builderctl";

void printOptions(const std::vector<OptionSpec>& options)
{
    for (const auto& option : options)
    {
        std::string name = option.shortName != '\0' ? std::string{'-', option.shortName} + ", --" : "    --";
        name += option.name;
        if (!option.argument.empty())
        {
            name += "=" + std::string(option.argument);
        }
        std::printf("  %-30s %s\n", name.c_str(), _(std::string(option.help).c_str()));
    }
}

void printHelp(const CommandSpec* command)
{
    if (command != nullptr)
    {
        std::printf("%s %s %s%s%s [%s]\n\n%s\n", _("Usage:"), program, std::string(command->name).c_str(),
                    command->arguments.empty() ? "" : " ", std::string(command->arguments).c_str(), _("OPTIONS..."),
                    _(std::string(command->summary).c_str()));
        if (!command->options.empty())
        {
            std::printf("\n%s\n", _("Options:"));
            printOptions(command->options);
        }
    }
    else
    {
        std::printf("%s %s [%s] %s\n\n%s\n\n%s\n", _("Usage:"), program, _("OPTIONS..."), _("COMMAND"),
                    _("Runs builds, mounts overlays and sets file capabilities through left4me-builderd."),
                    _("Commands:"));
        for (const auto& spec : commands())
        {
            std::string synopsis =
                std::string(spec.name) + (spec.arguments.empty() ? "" : " ") + std::string(spec.arguments);
            std::printf("  %-34s %s\n", synopsis.c_str(), _(std::string(spec.summary).c_str()));
        }
    }
    std::printf("\n%s\n", _("Options for every command:"));
    printOptions(globalOptions());
    std::printf("\n%s\n", format(N_("See %s for the exit statuses and more."), "left4me-builderctl(1)").c_str());
}

using Runner = int (*)(Session&, const CommandLine&);

const std::map<std::string_view, Runner>& runners()
{
    static const std::map<std::string_view, Runner> table = {
        {"build", runBuild},   {"jobs", runJobs},   {"status", runStatus},   {"log", runLog},
        {"cancel", runCancel}, {"mount", runMount}, {"unmount", runUnmount}, {"mounts", runMounts},
        {"caps", runCaps},     {"units", runUnits}, {"server", runServer},
    };
    return table;
}

void printError(const std::string& message)
{
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", program, message.c_str());
}

} // namespace

int main(int argc, char** argv)
{
    setUpTranslations();
    std::vector<std::string> args(argv + 1, argv + argc);
    try
    {
        CommandLine line = parseCommandLine(args);
        if (line.has("help"))
        {
            printHelp(line.command);
            return exit_code::success;
        }
        if (line.has("version"))
        {
            std::printf("%s %s\n", program, LEFT4ME_VERSION);
            return exit_code::success;
        }
        checkArguments(line);
        Session session(transportOf(line), !line.has("no-ask-password"));
        return runners().at(line.command->name)(session, line);
    }
    catch (const UsageError& e)
    {
        printError(e.what());
        std::fprintf(stderr, "%s\n", format(N_("Try '%s --help'."), program).c_str());
        return exit_code::usage;
    }
    catch (const sdbus::Error& e)
    {
        // The service's own sentence; the bus's errors are readable too.
        printError(e.getMessage().empty() ? e.getName() : e.getMessage());
        return exitCodeForError(e.getName());
    }
    catch (const std::exception& e)
    {
        printError(e.what());
        return exit_code::failure;
    }
}
