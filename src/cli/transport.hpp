#pragma once

// Where the service is reached, with systemd's meaning and spelling of the
// options (systemctl, busctl): this host's system bus; with -H/--host, the
// system bus of another host, through `ssh -xT HOST systemd-stdio-bridge`
// (sd_bus_open_system_remote); with -M/--machine, the system bus of a local
// container (sd-bus's x-machine-unix: transport, as sd_bus_open_system_machine
// uses). Pure, so that it is unit-tested; connecting is session.cpp's.
#include "cli/command_line.hpp"

#include <string>
#include <string_view>

namespace left4me::cli {

struct Transport
{
    enum class Kind
    {
        local,
        remote,  // -H: TARGET is [USER@]HOST[:PORT]
        machine, // -M: TARGET is a container name, or .host
    };
    Kind kind = Kind::local;
    std::string target;

    // Only a local caller can answer a password prompt: polkit's agent and
    // the terminal are on this host, the caller that polkit asks about is not.
    [[nodiscard]] bool local() const { return kind == Kind::local; }
};

// From -H/--host and -M/--machine. Throws UsageError for both at once and for
// a name sd-bus would refuse, naming the option.
Transport transportOf(const CommandLine& line);

// The sd-bus address of the system bus in container MACHINE, as
// sd_bus_open_system_machine() builds it (MACHINE is checked already).
std::string machineBusAddress(std::string_view machine);

} // namespace left4me::cli
