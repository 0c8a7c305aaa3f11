#include "cli/transport.hpp"

#include "cli/i18n.hpp"

#include <algorithm>

namespace left4me::cli {

namespace {

// sd-bus refuses a host with quotes, a backslash or a control character
// (string_is_safe); a space could only ever be a mistake; a leading dash
// would read as an option if a tool lacked ssh's "--".
bool plausibleHost(std::string_view host)
{
    return !host.empty() && host.front() != '-' && std::none_of(host.begin(), host.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return byte <= ' ' || byte == 0x7F || c == '"' || c == '\'' || c == '\\';
    });
}

// A machine name as machined registers it (a valid host name), or .host.
bool plausibleMachine(std::string_view name)
{
    if (name == ".host")
    {
        return true;
    }
    return !name.empty() && name.size() <= 64 && name.front() != '-' && name.front() != '.' &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.';
           });
}

} // namespace

Transport transportOf(const CommandLine& line)
{
    auto host = line.value("host");
    auto machine = line.value("machine");
    if (host && machine)
    {
        throw UsageError(_("give -H/--host or -M/--machine, not both"));
    }
    if (host)
    {
        if (!plausibleHost(*host))
        {
            throw UsageError(format(N_("-H/--host takes [USER@]HOST[:PORT], not \"%s\""), *host));
        }
        return {Transport::Kind::remote, *host};
    }
    if (machine)
    {
        if (!plausibleMachine(*machine))
        {
            throw UsageError(format(N_("-M/--machine takes the name of a local container, not \"%s\""), *machine));
        }
        return {Transport::Kind::machine, *machine};
    }
    return {};
}

std::string machineBusAddress(std::string_view machine)
{
    // Every character plausibleMachine() lets through stands for itself in
    // a D-Bus address: nothing to escape.
    return "x-machine-unix:machine=" + std::string(machine);
}

} // namespace left4me::cli
