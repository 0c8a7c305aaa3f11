#include "builds/exit_record.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("an exit record holds systemd's result and the script's exit status, as ExitStatus gives it")
{
    auto ok = parseExitRecord(formatExitRecord("success", "exited", "0"));
    REQUIRE(ok);
    CHECK(ok->result == "success");
    CHECK(ok->exitStatus == 0);
    auto failed = parseExitRecord(formatExitRecord("exit-code", "exited", "5"));
    REQUIRE(failed);
    CHECK(failed->result == "exit-code");
    CHECK(failed->exitStatus == 5);
    auto killed = parseExitRecord(formatExitRecord("signal", "killed", "KILL"));
    REQUIRE(killed);
    CHECK(killed->exitStatus == 128 + 9);
    auto dumped = parseExitRecord(formatExitRecord("core-dump", "dumped", "SEGV"));
    REQUIRE(dumped);
    CHECK(dumped->exitStatus == 128 + 11);
}

TEST_CASE("a unit whose main process never ran has no code or status: -1")
{
    CHECK(formatExitRecord("resources", "", "") == "resources - -\n");
    auto never = parseExitRecord("resources - -\n");
    REQUIRE(never);
    CHECK(never->result == "resources");
    CHECK(never->exitStatus == -1);
}

TEST_CASE("anything but a whole, well-formed record is no record")
{
    CHECK_FALSE(parseExitRecord(""));
    CHECK_FALSE(parseExitRecord("success exited 0"));     // not written whole
    CHECK_FALSE(parseExitRecord("success exited\n"));     // a field missing
    CHECK_FALSE(parseExitRecord("success exited 0 x\n")); // one too many
    CHECK_FALSE(parseExitRecord("success exited 256\n"));
    CHECK_FALSE(parseExitRecord("success exited -1\n"));
    CHECK_FALSE(parseExitRecord("signal killed NOSUCH\n"));
    CHECK_FALSE(parseExitRecord("succ$ess exited 0\n"));
}

TEST_CASE("a value that is not a plain word is written as -, never as it came")
{
    CHECK(formatExitRecord("success\nforged", "exited", "0") == "- exited 0\n");
}
