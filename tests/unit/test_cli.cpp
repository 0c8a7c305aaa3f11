#include "cli/command_line.hpp"
#include "cli/exit_status.hpp"
#include "cli/i18n.hpp"
#include "cli/log_cursor.hpp"
#include "cli/progress_line.hpp"
#include "cli/terminal_text.hpp"
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

TEST_CASE("the command line takes options before and after the command")
{
    auto line = parse({"--json", "build", "ovl", "-", "--memory-max=512M", "--env=A=1", "--env=B=2"});
    REQUIRE(line.command != nullptr);
    CHECK(line.command->name == "build");
    CHECK(line.args == std::vector<std::string>{"ovl", "-"});
    CHECK(line.has("json"));
    CHECK(line.values("env") == std::vector<std::string>{"A=1", "B=2"});

    auto options = buildOptionsOf(line);
    CHECK(options.at("memory_max").get<uint64_t>() == 512ULL << 20U);
    CHECK(options.at("environment").get<std::vector<std::string>>() == std::vector<std::string>{"A=1", "B=2"});
    CHECK_FALSE(options.contains("network"));
}

TEST_CASE("build options get the D-Bus types the service expects")
{
    auto options = buildOptionsOf(parse({"build", "o", "s", "--cpu-quota=150", "--tasks-max=64", "--timeout=30",
                                         "--network=none", "--skip-if-unchanged"}));
    CHECK(options.at("cpu_quota").peekValueType() == "u");
    CHECK(options.at("cpu_quota").get<uint32_t>() == 150);
    CHECK(options.at("tasks_max").peekValueType() == "t");
    CHECK(options.at("timeout_sec").get<uint64_t>() == 30);
    CHECK(options.at("network").get<std::string>() == "none");
    CHECK(options.at("skip_if_unchanged").get<bool>());
}

TEST_CASE("command-line mistakes are usage errors naming the problem")
{
    CHECK_THROWS_WITH_AS(parse({"frob"}), "unknown command frob", UsageError);
    CHECK_THROWS_WITH_AS(parse({"jobs", "--from=1"}), "unknown option --from for this command", UsageError);
    CHECK_THROWS_WITH_AS(parse({"log", "1", "--from"}), "option --from needs a value (--from=N)", UsageError);
    CHECK_THROWS_WITH_AS(parse({"jobs", "--all=yes"}), "option --all takes no value", UsageError);
    CHECK_THROWS_WITH_AS(parse({"build", "o", "s", "--timeout=1", "--timeout=2"}), "option --timeout given twice",
                         UsageError);
    CHECK_THROWS_WITH_AS(parse({"build", "o"}), "too few arguments; usage: build OVERLAY SCRIPT|-", UsageError);
    CHECK_THROWS_WITH_AS(parse({"status", "1", "2"}), "too many arguments; usage: status JOB", UsageError);
    CHECK_THROWS_AS(parse({}), UsageError);
    CHECK_THROWS_AS(parse({"-x"}), UsageError);
}

TEST_CASE("--help and --version need no command and skip the argument count")
{
    CHECK(parse({"--help"}).command == nullptr);
    CHECK(parse({"build", "--help"}).command->name == "build");
    CHECK(parse({"-h"}).has("help"));
    CHECK(parse({"--version"}).has("version"));
}

TEST_CASE("-- ends the options, so an argument may start with a dash")
{
    auto line = parse({"mount", "inst", "--", "--odd-layer"});
    CHECK(line.args == std::vector<std::string>{"inst", "--odd-layer"});
}

TEST_CASE("sizes take K, M, G and T as powers of 1024")
{
    CHECK(parseSize("4096", "s") == 4096);
    CHECK(parseSize("1K", "s") == 1024);
    CHECK(parseSize("2g", "s") == 2ULL << 30U);
    CHECK(parseSize("1T", "s") == 1ULL << 40U);
    CHECK_THROWS_AS(parseSize("", "s"), UsageError);
    CHECK_THROWS_AS(parseSize("M", "s"), UsageError);
    CHECK_THROWS_AS(parseSize("0", "s"), UsageError);
    CHECK_THROWS_AS(parseSize("-1M", "s"), UsageError);
    CHECK_THROWS_AS(parseSize("1.5G", "s"), UsageError);
    CHECK_THROWS_AS(parseSize("99999999999T", "s"), UsageError);
    CHECK_THROWS_WITH(parseSize("12Q", "--memory-max"), "--memory-max must be a size such as 512M or 2G, not \"12Q\"");
}

TEST_CASE("numbers are checked against their range")
{
    CHECK(parseNumber("0", "n") == 0);
    CHECK_THROWS_AS(parseNumber("0", "n", 1), UsageError);
    CHECK_THROWS_AS(parseNumber("12a", "n"), UsageError);
    CHECK_THROWS_AS(parseNumber("99999999999999999999999", "n"), UsageError);
    CHECK_THROWS_AS(checkArguments(parse({"build", "o", "s", "--cpu-quota=0"})), UsageError);
}

TEST_CASE("a job is given by its Id or its object path")
{
    CHECK(jobPathOf("7") == "/org/left4me/Builder/job/7");
    CHECK(jobPathOf("/org/left4me/Builder/job/12") == "/org/left4me/Builder/job/12");
    CHECK_THROWS_AS(jobPathOf("/org/left4me/Builder/job/"), UsageError);
    CHECK_THROWS_AS(jobPathOf("/org/left4me/Builder/mount/x"), UsageError);
    CHECK_THROWS_AS(jobPathOf("7/../8"), UsageError);
    CHECK_THROWS_AS(jobPathOf(""), UsageError);
}

TEST_CASE("service errors map to the documented exit statuses")
{
    CHECK(exitCodeForError("org.left4me.Builder.Error.InvalidArgument") == exit_code::usage);
    CHECK(exitCodeForError("org.left4me.Builder.Error.CapabilityNotAllowed") == exit_code::usage);
    CHECK(exitCodeForError("org.left4me.Builder.Error.NotAuthorized") == exit_code::notAuthorized);
    CHECK(exitCodeForError("org.left4me.Builder.Error.InteractiveAuthorizationRequired") == exit_code::notAuthorized);
    CHECK(exitCodeForError("org.left4me.Builder.Error.AuthorizationUnavailable") == exit_code::notAuthorized);
    CHECK(exitCodeForError("org.left4me.Builder.Error.NoSuchJob") == exit_code::notFound);
    CHECK(exitCodeForError("org.left4me.Builder.Error.NotMounted") == exit_code::notFound);
    CHECK(exitCodeForError("org.freedesktop.DBus.Error.UnknownObject") == exit_code::notFound);
    CHECK(exitCodeForError("org.left4me.Builder.Error.Busy") == exit_code::failure);
    CHECK(exitCodeForError("org.freedesktop.DBus.Error.ServiceUnknown") == exit_code::failure);
}

TEST_CASE("a followed build exits as its script did")
{
    CHECK(exitCodeForJob("succeeded", "success", 0, false) == 0);
    CHECK(exitCodeForJob("succeeded", "skipped", -1, false) == 0);
    CHECK(exitCodeForJob("failed", "exit-code", 3, false) == 3);
    CHECK(exitCodeForJob("failed", "signal", 128 + 9, false) == 137);
    CHECK(exitCodeForJob("failed", "timeout", 143, false) == exit_code::timedOut);
    CHECK(exitCodeForJob("failed", "resources", -1, false) == exit_code::failure);
    CHECK(exitCodeForJob("cancelled", "signal", 143, true) == exit_code::interrupted);
    CHECK(exitCodeForJob("cancelled", "signal", 143, false) == 143);
    CHECK(isEndedState("cancelled"));
    CHECK_FALSE(isEndedState("running"));
}

TEST_CASE("the log cursor merges a replay and live batches without gap or duplicate")
{
    LogCursor cursor;
    std::vector<std::string> batch = {"a", "b", "c"};
    CHECK(cursor.take(0, batch).size() == 3);
    CHECK(cursor.next() == 3);
    // The same lines again (replay and signal overlap): nothing new.
    CHECK(cursor.take(0, batch).empty());
    // A batch overlapping the end: only its new part.
    std::vector<std::string> overlap = {"c", "d"};
    auto fresh = cursor.take(2, overlap);
    REQUIRE(fresh.size() == 1);
    CHECK(fresh[0] == "d");
    // A batch beyond the end is a gap: it must be filled first.
    CHECK(cursor.gapBefore(6));
    CHECK(cursor.take(6, batch).empty());
    CHECK(cursor.next() == 4);
    CHECK_FALSE(cursor.gapBefore(4));
    LogCursor late(5);
    CHECK(late.take(0, batch).empty());
}

TEST_CASE("the progress line fits the terminal and carries no control characters")
{
    CHECK(progressLine(0.42, "compiling", 80) == "[ 42%] compiling");
    CHECK(progressLine(-1, "waiting", 80) == "[ ... ] waiting");
    CHECK(progressLine(1.0, "", 80) == "[100%]");
    CHECK(progressLine(0.5, "a\033[2Jb\rc", 80) == "[ 50%] a [2Jb c");
    // Found by the log fuzz target: C1 controls passed, and U+009B is CSI.
    CHECK(progressLine(0.5, "a\u009b2Jb\u0085c\u00a0d", 80) == "[ 50%] a 2Jb c\u00a0d");
    CHECK(progressLine(0.5, "abcdefghij", 10) == "[ 50%] ab");
    // Cut between code points, never inside one.
    CHECK(progressLine(0.5, "ääää", 10) == "[ 50%] ää");
}

TEST_CASE("a script's control characters are shown on a terminal, not obeyed")
{
    // OSC 52 (write the clipboard), a cursor move, a carriage return that
    // would overwrite the line, and CSI as the one C1 character U+009B.
    CHECK(terminalText("a\033]52;c;ZXZpbA==\007b", Controls::escape) == "a\\x1b]52;c;ZXZpbA==\\x07b");
    CHECK(terminalText("ok\rFAIL\033[1A", Controls::escape) == "ok\\x0dFAIL\\x1b[1A");
    CHECK(terminalText("x\u009b2Jy\x7f", Controls::escape) == "x\\xc2\\x9b2Jy\\x7f");
    // TAB keeps a log's columns; text, UTF-8 and invalid bytes pass as they are.
    CHECK(terminalText("a\tb ä \u00a0 \xff", Controls::escape) == "a\tb ä \u00a0 \xff");
    CHECK(terminalText(std::string_view("\0z", 2), Controls::escape) == "\\x00z");
    // A one-line status: each control character, TAB too, is one space.
    CHECK(terminalText("a\tb\033[2J\u0085c", Controls::blank) == "a b [2J c");
    CHECK(terminalText("", Controls::escape).empty());
}

TEST_CASE("translated messages take their arguments in order")
{
    CHECK(substitute("%s und %s", {"a", "b"}) == "a und b");
    CHECK(substitute("%s", {"%s"}) == "%s");
    CHECK(substitute("none", {"x"}) == "none");
}

// -H/--host, -M/--machine and the other options spelled as systemd's tools
// spell them.

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

TEST_CASE("server takes enable or disable and one instance; anything else is a usage error")
{
    auto line = parse({"server", "enable", "7", "--now", "--template=game@.service"});
    CHECK_NOTHROW(checkArguments(line));
    CHECK(line.args == std::vector<std::string>{"enable", "7"});
    CHECK(line.value("template") == "game@.service");
    CHECK(line.has("now"));
    CHECK_NOTHROW(checkArguments(parse({"server", "disable", "7"})));
    CHECK_THROWS_AS(checkArguments(parse({"server", "start", "7"})), UsageError);
    CHECK_THROWS_AS(parse({"server", "enable"}), UsageError);
    CHECK_THROWS_AS(parse({"server", "enable", "7", "8"}), UsageError);
}
