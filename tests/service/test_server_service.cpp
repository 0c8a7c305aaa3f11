// ServerService (EnableServer, DisableServer) against a fake systemd: what
// it refuses before it links anything, what it asks of systemd and in
// which order, and what it leaves when a step fails.
#include "fake_systemd.hpp"
#include "servers/server_service.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <optional>

using namespace left4me;
using left4me::test::FakeSystemd;
using left4me::test::TempDir;

namespace {

constexpr const char* unit = "left4me-server@1.service";

ServerRequest request(bool now = false)
{
    return {1001, "left4me-server@.service", "1", unit, now};
}

// What enabling the instance links: its own name, as WantedBy= does.
UnitFileChange ownLink(const std::string& name = unit)
{
    return {"symlink", "/etc/systemd/system/multi-user.target.wants/" + name,
            "/etc/systemd/system/left4me-server@.service"};
}

struct Harness
{
    Harness()
    {
        for (const std::string name : {unit, "left4me-server@2.service"})
        {
            systemd.units[name].installs = {ownLink(name)};
            systemd.units[name].facts.fragmentPath = "/etc/systemd/system/left4me-server@.service";
        }
    }

    FakeSystemd systemd;
    ServerService servers{systemd};
    std::vector<Outcome<std::string>> answers;

    Reply<std::string> reply()
    {
        return [this](Outcome<std::string> outcome) { answers.push_back(std::move(outcome)); };
    }
    // The one answer of the call; none or two fail the test.
    const Outcome<std::string>& answer()
    {
        systemd.run();
        REQUIRE(answers.size() == 1);
        return answers.front();
    }
    void refusedWith(ErrorKind kind, const std::string& mentions)
    {
        const auto& outcome = answer();
        REQUIRE_FALSE(outcome.ok());
        CHECK(outcome.error().kind() == kind);
        CHECK_MESSAGE(outcome.error().message().find(mentions) != std::string::npos, outcome.error().message());
    }
};

} // namespace

TEST_CASE("enabling an instance loads it, enables it alone, reloads systemd and starts nothing")
{
    Harness h;
    h.servers.enable(request(), h.reply());
    REQUIRE(h.answer().ok());
    CHECK(h.answer().value() == unit);
    CHECK(h.systemd.calls ==
          std::vector<std::string>{"LoadUnit " + std::string(unit), "EnableUnitFiles " + std::string(unit), "Reload"});
    CHECK(h.systemd.units[unit].enabled);
}

TEST_CASE("with now, enabling also starts the instance and answers once its start job is done")
{
    Harness h;
    h.systemd.startsComplete = false;
    h.servers.enable(request(true), h.reply());
    h.systemd.run();
    CHECK(h.answers.empty()); // the job is still running
    CHECK(h.systemd.calls.back() == "StartUnit " + std::string(unit));
    h.systemd.removeJob(h.systemd.lastJob(), "done");
    CHECK(h.answer().ok());
}

TEST_CASE("a start that fails leaves the instance enabled and answers Failed saying so")
{
    Harness h;
    h.systemd.startsComplete = false;
    h.servers.enable(request(true), h.reply());
    h.systemd.run();
    h.systemd.removeJob(h.systemd.lastJob(), "failed");
    h.refusedWith(ErrorKind::failed, "is enabled at boot, but starting it failed: its job ended \"failed\"");
    CHECK(h.systemd.units[unit].enabled);
}

TEST_CASE("an instance that cannot be enabled as it is is refused before anything is linked")
{
    Harness h;
    auto& load = h.systemd.units[unit].facts;
    std::string mentions;
    SUBCASE("its template is missing")
    {
        load.loadState = "not-found";
        load.loadError = "Unit left4me-server@1.service not found.";
        mentions = "There is no unit file for left4me-server@.service";
    }
    SUBCASE("it is masked")
    {
        load.loadState = "masked";
        load.unitFileState = "masked";
        mentions = "systemctl unmask left4me-server@1.service";
    }
    SUBCASE("its template does not load")
    {
        load.loadState = "bad-setting";
        load.loadError = "Unit configuration has fatal error";
        mentions = "does not load (bad-setting: Unit configuration has fatal error)";
    }
    SUBCASE("its name is an alias of another unit")
    {
        load.id = "ssh.service";
        load.unitFileState = "enabled";
        mentions = "is an alias of ssh.service";
    }
    SUBCASE("its name has a unit file of its own, such as a link to another unit's")
    {
        load.fragmentPath = "/lib/systemd/system/ssh.service";
        mentions = "is loaded from /lib/systemd/system/ssh.service, not from left4me-server@.service";
    }
    SUBCASE("its template has no [Install] section")
    {
        load.unitFileState = "static";
        mentions = "has no [Install] section";
    }
    SUBCASE("it comes from a generator")
    {
        load.unitFileState = "generated";
        mentions = "unit file state is \"generated\"";
    }
    h.servers.enable(request(true), h.reply());
    h.refusedWith(ErrorKind::invalidArgument, mentions);
    CHECK(h.systemd.calls == std::vector<std::string>{"LoadUnit " + std::string(unit)});
}

TEST_CASE("a template that links more than the instance has every link of the call taken back")
{
    TempDir dir;
    auto own = dir.path() + "/multi-user.target.wants/" + unit;
    auto other = dir.path() + "/multi-user.target.wants/other.service";
    std::filesystem::create_directories(dir.path() + "/multi-user.target.wants");
    // What systemd made for the instance and for an Also=other.service.
    std::filesystem::create_symlink("/etc/systemd/system/left4me-server@.service", own);
    std::filesystem::create_symlink("/etc/systemd/system/other.service", other);
    std::filesystem::create_symlink("/etc/systemd/system/unrelated.service", dir.path() + "/unrelated.service");
    Harness h;
    h.systemd.units[unit].installs = {{"symlink", own, "/etc/systemd/system/left4me-server@.service"},
                                      {"symlink", other, "/etc/systemd/system/other.service"}};
    h.servers.enable(request(true), h.reply());
    h.refusedWith(ErrorKind::invalidArgument, "would also link " + other);
    CHECK_FALSE(std::filesystem::is_symlink(own));
    CHECK_FALSE(std::filesystem::is_symlink(other));
    CHECK(std::filesystem::is_symlink(dir.path() + "/unrelated.service"));
    // Not reloaded, so systemd never saw the links; nothing was started.
    CHECK(h.systemd.calls ==
          std::vector<std::string>{"LoadUnit " + std::string(unit), "EnableUnitFiles " + std::string(unit)});
}

TEST_CASE("a link that changed since systemd made it is not removed, and the answer says so")
{
    TempDir dir;
    auto other = dir.path() + "/other.service";
    std::filesystem::create_symlink("/somewhere/else.service", other);
    Harness h;
    h.systemd.units[unit].installs = {{"symlink", other, "/etc/systemd/system/other.service"}};
    h.servers.enable(request(), h.reply());
    h.refusedWith(ErrorKind::failed, "taking back " + other + " failed; remove them by hand");
    CHECK(std::filesystem::is_symlink(other));
}

TEST_CASE("enabling an instance that is already enabled links nothing and does not reload")
{
    Harness h;
    h.systemd.units[unit].enabled = true;
    h.servers.enable(request(), h.reply());
    CHECK(h.answer().ok());
    CHECK(h.systemd.calls ==
          std::vector<std::string>{"LoadUnit " + std::string(unit), "EnableUnitFiles " + std::string(unit)});
}

TEST_CASE("systemd's refusal to enable is the answer, naming its reason")
{
    Harness h;
    h.systemd.failures["EnableUnitFiles"] = SystemdError{"org.freedesktop.DBus.Error.FileExists", "File exists"};
    h.servers.enable(request(true), h.reply());
    h.refusedWith(ErrorKind::failed, "Enabling left4me-server@1.service failed: File exists");
    CHECK(h.systemd.count("Reload") == 0);
    CHECK(h.systemd.count("StartUnit " + std::string(unit)) == 0);
}

TEST_CASE("disabling an enabled instance checks its links, disables it, reloads, and with now stops it")
{
    Harness h;
    h.systemd.units[unit].enabled = true;
    h.systemd.units[unit].activeState = "active";
    h.systemd.units[unit].outcome.result = "success";
    h.servers.disable(request(true), h.reply());
    CHECK(h.answer().ok());
    CHECK(h.systemd.calls ==
          std::vector<std::string>{"LoadUnit " + std::string(unit), "GetUnitFileLinks " + std::string(unit),
                                   "DisableUnitFiles " + std::string(unit), "Reload", "StopUnit " + std::string(unit)});
    CHECK_FALSE(h.systemd.units[unit].enabled);
    CHECK(h.systemd.units[unit].activeState == "inactive");
}

TEST_CASE("disabling an instance that is not enabled succeeds and changes nothing")
{
    Harness h;
    h.servers.disable(request(), h.reply());
    CHECK(h.answer().ok());
    CHECK(h.systemd.calls ==
          std::vector<std::string>{"LoadUnit " + std::string(unit), "GetUnitFileLinks " + std::string(unit)});
}

TEST_CASE("disabling is refused, nothing changed, when it would remove another unit's links too")
{
    Harness h;
    h.systemd.units[unit].enabled = true;
    h.systemd.units[unit].installs = {ownLink(),
                                      {"symlink", "/etc/systemd/system/multi-user.target.wants/other.service", "/y"}};
    h.servers.disable(request(true), h.reply());
    h.refusedWith(ErrorKind::invalidArgument, "would also remove /etc/systemd/system/multi-user.target.wants/other");
    CHECK(h.systemd.calls ==
          std::vector<std::string>{"LoadUnit " + std::string(unit), "GetUnitFileLinks " + std::string(unit)});
}

TEST_CASE("disabling an alias is refused before anything is unlinked or stopped")
{
    Harness h;
    h.systemd.units[unit].facts.id = "ssh.service";
    h.servers.disable(request(true), h.reply());
    h.refusedWith(ErrorKind::invalidArgument, "is an alias of ssh.service");
    CHECK(h.systemd.calls == std::vector<std::string>{"LoadUnit " + std::string(unit)});
}

TEST_CASE("disabling a name with a unit file of its own is refused before anything is unlinked")
{
    Harness h;
    h.systemd.units[unit].enabled = true;
    h.systemd.units[unit].facts.fragmentPath = "/etc/systemd/system/" + std::string(unit);
    h.servers.disable(request(true), h.reply());
    h.refusedWith(ErrorKind::invalidArgument, "is loaded from /etc/systemd/system/left4me-server@1.service");
    CHECK(h.systemd.calls == std::vector<std::string>{"LoadUnit " + std::string(unit)});
}

TEST_CASE("disabling a name whose unit file state is bad (a link to another unit's file) is refused")
{
    Harness h;
    h.systemd.units[unit].enabled = true;
    h.systemd.units[unit].facts.unitFileState = "bad";
    h.servers.disable(request(true), h.reply());
    h.refusedWith(ErrorKind::invalidArgument, "unit file state is \"bad\"");
    CHECK(h.systemd.calls == std::vector<std::string>{"LoadUnit " + std::string(unit)});
}

TEST_CASE("with now, an instance systemd does not know counts as stopped")
{
    Harness h;
    h.systemd.failures["StopUnit"] = SystemdError{noSuchUnitError, "Unit left4me-server@1.service not loaded."};
    h.servers.disable(request(true), h.reply());
    CHECK(h.answer().ok());
}

TEST_CASE("a second call for the same instance while one is in progress is Busy; another instance is not")
{
    Harness h;
    h.systemd.startsComplete = false;
    h.servers.enable(request(true), h.reply());
    h.systemd.run(); // the start job is running
    h.servers.disable(request(), h.reply());
    auto other = request();
    other.instance = "2";
    other.unit = "left4me-server@2.service";
    h.servers.enable(other, h.reply());
    h.systemd.run();
    REQUIRE(h.answers.size() == 2);
    REQUIRE_FALSE(h.answers[0].ok());
    CHECK(h.answers[0].error().kind() == ErrorKind::busy);
    CHECK(h.answers[1].ok());
    h.systemd.removeJob(h.systemd.lastJob(), "done");
    h.systemd.run();
    REQUIRE(h.answers.size() == 3);
    CHECK(h.answers[2].ok());
    h.servers.disable(request(), h.reply()); // free again
    h.systemd.run();
    REQUIRE(h.answers.size() == 4);
    CHECK(h.answers[3].ok());
}
