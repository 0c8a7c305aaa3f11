// server enable|disable: game-server instances at boot (EnableServer,
// DisableServer).
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"

#include <cstdio>

namespace left4me::cli {

int runServer(Session& session, const CommandLine& line)
{
    const auto& verb = line.args[0];
    const auto& instance = line.args[1];
    auto templateName = line.value("template").value_or("");
    std::map<std::string, sdbus::Variant> options;
    if (line.has("now"))
    {
        options["now"] = true;
    }
    std::string unit = verb == "enable" ? session.manager().EnableServer(templateName, instance, options)
                                        : session.manager().DisableServer(templateName, instance, options);
    if (line.has("json"))
    {
        printJsonLine({{"unit", unit},
                       {"instance", instance},
                       {"enabled", verb == "enable"},
                       {verb == "enable" ? "started" : "stopped", line.has("now")}});
    }
    else if (!line.has("quiet"))
    {
        std::printf("%s\n", unit.c_str());
    }
    return exit_code::success;
}

} // namespace left4me::cli
