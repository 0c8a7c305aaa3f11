// -H/--host, -M/--machine and the other options spelled as systemd's tools
// spell them.
#include "cli/command_line.hpp"
#include "cli/transport.hpp"

#include <doctest/doctest.h>

using namespace left4me::cli;

namespace {
CommandLine parse(std::initializer_list<std::string> args)
{
    std::vector<std::string> list(args);
    return parseCommandLine(list);
}
} // namespace

TEST_CASE("-H and -M take their value attached or as the next word, as getopt does")
{
    CHECK(parse({"-H", "bob@game1", "jobs"}).value("host") == "bob@game1");
    CHECK(parse({"-Hbob@game1:2222", "jobs"}).value("host") == "bob@game1:2222");
    CHECK(parse({"jobs", "--host=game1"}).value("host") == "game1");
    CHECK(parse({"jobs", "-M", "ct1"}).value("machine") == "ct1");
    CHECK(parse({"-q", "mount", "i", "/l"}).has("quiet"));
    CHECK(parse({"--quiet", "mount", "i", "/l"}).has("quiet"));
    // The word after -H is its value, never the command.
    CHECK(parse({"-H", "jobs", "mounts"}).command->name == "mounts");
    CHECK_THROWS_WITH_AS(parse({"jobs", "-H"}), "option -H needs a value (-H [USER@]HOST[:PORT])", UsageError);
    CHECK_THROWS_WITH_AS(parse({"-qx", "jobs"}), "unknown option -qx", UsageError);
    CHECK_THROWS_WITH_AS(parse({"-x", "jobs"}), "unknown option -x", UsageError);
}

TEST_CASE("the list commands take --no-legend, the others do not")
{
    CHECK(parse({"jobs", "--no-legend"}).has("no-legend"));
    CHECK(parse({"--no-legend", "mounts"}).has("no-legend"));
    CHECK_THROWS_WITH_AS(parse({"status", "1", "--no-legend"}), "unknown option --no-legend for this command",
                         UsageError);
}

TEST_CASE("the transport is local unless -H or -M names another bus")
{
    CHECK(transportOf(parse({"jobs"})).local());
    auto remote = transportOf(parse({"-H", "bob@127.0.0.1:2222", "jobs"}));
    CHECK(remote.kind == Transport::Kind::remote);
    CHECK(remote.target == "bob@127.0.0.1:2222");
    CHECK_FALSE(remote.local());
    auto machine = transportOf(parse({"-M", "game-ct.1", "jobs"}));
    CHECK(machine.kind == Transport::Kind::machine);
    CHECK(machineBusAddress(machine.target) == "x-machine-unix:machine=game-ct.1");
    CHECK(transportOf(parse({"-M", ".host", "jobs"})).target == ".host");
}

TEST_CASE("a host or container sd-bus would refuse is a usage error naming the option")
{
    CHECK_THROWS_WITH_AS(transportOf(parse({"-H", "a", "-M", "b", "jobs"})), "give -H/--host or -M/--machine, not both",
                         UsageError);
    const std::vector<std::string> hosts = {"a b", "-oProxyCommand=x", "a'b", "a\\b", "a\"b", "a\tb"};
    for (const auto& host : hosts)
    {
        CAPTURE(host);
        CHECK_THROWS_AS(transportOf(parse({"--host=" + host, "jobs"})), UsageError);
    }
    const std::vector<std::string> machines = {"bob@ct", "ct/x", ".hidden", "-ct", "a b", "c=t", std::string(65, 'a')};
    for (const auto& machine : machines)
    {
        CAPTURE(machine);
        CHECK_THROWS_AS(transportOf(parse({"--machine=" + machine, "jobs"})), UsageError);
    }
}
