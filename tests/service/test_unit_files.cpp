// UnitFiles against a fake systemd: the order of the steps, and what is
// left when one fails.
#include "fake_systemd.hpp"
#include "systemd/unit_files.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace left4me;
using left4me::test::FakeSystemd;
using left4me::test::TempDir;

namespace {

std::string read(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

TEST_CASE("install writes every file, then reloads once, then enables the units in order")
{
    TempDir dir;
    FakeSystemd systemd;
    UnitFiles files(systemd, dir.path());
    std::optional<UnitFiles::Failure> result;
    files.install({{"a.service", "[Service]\nExecStart=/bin/true\n"}, {"a.timer", "[Timer]\nOnCalendar=daily\n"}},
                  {"a.timer"}, [&](UnitFiles::Failure failure) { result = std::move(failure); });
    systemd.run();
    REQUIRE(result.has_value());
    CHECK_FALSE(result->has_value());
    CHECK(read(dir.path() + "/a.service") == "[Service]\nExecStart=/bin/true\n");
    CHECK((std::filesystem::status(dir.path() + "/a.timer").permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
           std::filesystem::perms::group_read | std::filesystem::perms::others_read));
    CHECK(systemd.calls == std::vector<std::string>{"Reload", "EnableUnitFiles a.timer"});
}

TEST_CASE("a failed reload is the answer, and nothing is enabled")
{
    TempDir dir;
    FakeSystemd systemd;
    systemd.failures["Reload"] = SystemdError{"org.freedesktop.DBus.Error.AccessDenied", "no"};
    UnitFiles files(systemd, dir.path());
    std::optional<UnitFiles::Failure> result;
    files.install({{"b.mount", "[Mount]\n"}}, {"b.mount"},
                  [&](UnitFiles::Failure failure) { result = std::move(failure); });
    systemd.run();
    REQUIRE(result.has_value());
    REQUIRE(result->has_value());
    CHECK(**result == "daemon-reload failed: no");
    CHECK(systemd.count("EnableUnitFiles b.mount") == 0);
}

TEST_CASE("a file that cannot be written is the answer, before systemd hears of it")
{
    TempDir dir;
    FakeSystemd systemd;
    UnitFiles files(systemd, dir.path() + "/missing");
    std::optional<UnitFiles::Failure> result;
    files.install({{"c.mount", "[Mount]\n"}}, {}, [&](UnitFiles::Failure failure) { result = std::move(failure); });
    systemd.run();
    REQUIRE(result.has_value());
    CHECK(result->has_value());
    CHECK(systemd.calls.empty());
}

TEST_CASE("remove disables each unit, removes its file, and reloads; a failed disable does not stop it")
{
    TempDir dir;
    FakeSystemd systemd;
    std::ofstream(dir.path() + "/d.service") << "[Service]\n";
    std::ofstream(dir.path() + "/e.service") << "[Service]\n";
    systemd.failures["DisableUnitFiles"] = SystemdError{"org.freedesktop.systemd1.NoSuchUnit", "not enabled"};
    UnitFiles files(systemd, dir.path());
    bool done = false;
    files.remove({"d.service", "e.service"}, [&] { done = true; });
    systemd.run();
    CHECK(done);
    CHECK_FALSE(std::filesystem::exists(dir.path() + "/d.service"));
    CHECK_FALSE(std::filesystem::exists(dir.path() + "/e.service"));
    CHECK(systemd.calls ==
          std::vector<std::string>{"DisableUnitFiles d.service", "DisableUnitFiles e.service", "Reload"});
}
