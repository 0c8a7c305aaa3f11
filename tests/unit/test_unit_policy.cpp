// What InstallUnits lets an add-on's unit be, judged on what systemd made
// of it: each rule, and each way around it, once.
#include "ops/op_error.hpp"
#include "units/unit_policy.hpp"
#include "units/units_request.hpp"

#include <doctest/doctest.h>

using namespace left4me;

namespace {

UnitPolicy policy()
{
    UnitPolicy p;
    p.users = {"left4me"};
    p.groups = {"left4me"};
    p.own = {"tick-worker.service", "tick-worker.timer"};
    return p;
}

// A service as systemd loads a plain one: default dependencies only.
UnitFacts service(std::string user = "left4me")
{
    UnitFacts facts;
    facts.loadState = "loaded";
    facts.user = std::move(user);
    facts.dependencies = {{"Requires", {"sysinit.target", "system.slice"}}, {"Conflicts", {"shutdown.target"}}};
    facts.commandFlags = {{"ExecStartEx", {}}};
    return facts;
}

} // namespace

TEST_CASE("a service of an allowed user with default dependencies passes")
{
    CHECK_FALSE(unitRefusal("tick-worker.service", service(), policy()));
    auto facts = service();
    facts.group = "left4me";
    facts.dependencies["Wants"] = {"network-online.target", "var-lib-left4me-runtime-srv1-merged.mount"};
    facts.dependencies["Requires"].push_back("tick-worker.timer");
    CHECK_FALSE(unitRefusal("tick-worker.service", facts, policy()));
}

TEST_CASE("root, no user and users outside the allowlist are refused")
{
    CHECK(unitRefusal("tick-worker.service", service(""), policy())->find("no User=") != std::string::npos);
    CHECK(unitRefusal("tick-worker.service", service("root"), policy())->find("root") != std::string::npos);
    CHECK(unitRefusal("tick-worker.service", service("0"), policy())->find("root") != std::string::npos);
    CHECK(unitRefusal("tick-worker.service", service("www-data"), policy())->find("www-data") != std::string::npos);
}

TEST_CASE("privileged command lines, groups and ambient capabilities are refused")
{
    for (const char* flag : {"privileged", "no-setuid", "ambient"})
    {
        auto facts = service();
        facts.commandFlags = {{"ExecStartPreEx", {"ignore-failure", flag}}};
        auto why = unitRefusal("tick-worker.service", facts, policy());
        REQUIRE(why);
        CHECK(why->find("ExecStartPre=") != std::string::npos);
    }
    auto group = service();
    group.group = "shadow";
    CHECK(unitRefusal("tick-worker.service", group, policy()));
    auto supplementary = service();
    supplementary.supplementaryGroups = {"disk"};
    CHECK(unitRefusal("tick-worker.service", supplementary, policy()));
    auto ambient = service();
    ambient.ambientCapabilities = 1;
    CHECK(unitRefusal("tick-worker.service", ambient, policy()));
    auto ignoring = service();
    ignoring.commandFlags = {{"ExecStartEx", {"ignore-failure"}}}; // "-" gains nothing
    CHECK_FALSE(unitRefusal("tick-worker.service", ignoring, policy()));
}

TEST_CASE("a unit that pulls in, stops or triggers another's unit is refused")
{
    for (const auto& [dependency, target] :
         std::vector<std::pair<std::string, std::string>>{{"Wants", "ssh.service"},
                                                          {"Requires", "reboot.target"},
                                                          {"Conflicts", "ssh.service"},
                                                          {"Conflicts", "var-lib-left4me-runtime-srv1-merged.mount"},
                                                          {"OnFailure", "reboot.target"},
                                                          {"Triggers", "multi-user.target"},
                                                          {"PropagatesReloadTo", "nginx.service"}})
    {
        auto facts = service();
        facts.dependencies[dependency] = {target};
        auto why = unitRefusal("tick-worker.service", facts, policy());
        INFO(dependency, "=", target);
        REQUIRE(why);
        CHECK(why->find(dependency + "=" + target) != std::string::npos);
    }
}

TEST_CASE("a timer may trigger its own service, named by the copy's name")
{
    auto p = policy();
    p.finalName = [](const std::string& name) {
        return name == "left4me-check-1-0-tick-worker.service" ? std::string("tick-worker.service") : name;
    };
    UnitFacts timer;
    timer.loadState = "loaded";
    timer.dependencies = {{"Triggers", {"left4me-check-1-0-tick-worker.service"}}};
    CHECK_FALSE(unitRefusal("tick-worker.timer", timer, p));
    timer.dependencies = {{"Triggers", {"ssh.service"}}};
    CHECK(unitRefusal("tick-worker.timer", timer, p));
}

TEST_CASE("a unit systemd could not load is refused with its load state")
{
    auto facts = service();
    facts.loadState = "bad-setting";
    CHECK(unitRefusal("tick-worker.service", facts, policy())->find("bad-setting") != std::string::npos);
}

TEST_CASE("PermissionsStartOnly= is refused in any spelling systemd reads, and only as a key")
{
    CHECK(settingRefusal("[Service]\nPermissionsStartOnly=yes\n"));
    CHECK(settingRefusal("[Service]\n  PermissionsStartOnly = false\n")); // any value: refused as a key
    CHECK(settingRefusal("[Service]\nUser=x\n\tPermissionsStartOnly=1")); // no final newline
    CHECK_FALSE(settingRefusal("[Service]\nUser=left4me\nExecStart=/bin/true\n"));
    CHECK_FALSE(settingRefusal("[Unit]\nDescription=no PermissionsStartOnly=yes here\n"));
    CHECK_FALSE(settingRefusal("[Service]\nPermissionsStartOnlyNot=yes\n"));
}

TEST_CASE("[Install] may only make the units wanted by passive targets or each other")
{
    auto p = policy();
    CHECK_FALSE(
        installRefusal({{"symlink", "/run/systemd/system/multi-user.target.wants/tick-worker.service", "/x"},
                        {"symlink", "/run/systemd/system/timers.target.wants/tick-worker.timer", "/x"},
                        {"symlink", "/run/systemd/system/tick-worker.service.requires/tick-worker.timer", "/x"}},
                       p));
    CHECK(installRefusal({{"symlink", "/run/systemd/system/sshd.service", "/x"}}, p));                        // Alias=
    CHECK(installRefusal({{"symlink", "/run/systemd/system/multi-user.target.wants/ssh.service", "/x"}}, p)); // Also=
    CHECK(installRefusal({{"symlink", "/run/systemd/system/reboot.target.wants/tick-worker.service", "/x"}}, p));
}

TEST_CASE("InstallUnits' arguments: names that carry the add-on's, enable within units, now with enable")
{
    auto ok = installUnitsRequest(0, "tick", "1.0", {"tick-worker.service", "tick-worker.timer"},
                                  {{"enable", std::vector<std::string>{"tick-worker.timer"}}, {"now", true}});
    CHECK(ok.enable == std::vector<std::string>{"tick-worker.timer"});
    auto refused = [](std::vector<std::string> units, PlainOptions options = {}) {
        try
        {
            (void)installUnitsRequest(0, "tick", "1.0", std::move(units), options);
        }
        catch (const OpError& e)
        {
            return e.kind() == ErrorKind::invalidArgument;
        }
        return false;
    };
    CHECK(refused({}));
    CHECK(refused({"ssh.service"}));
    CHECK(refused({"tick-x.socket"}));
    CHECK(refused({"tick-x@.service"}));
    CHECK(refused({"tick-.service"}));
    CHECK(refused({"tick-a\\x2d.service"}));
    CHECK(refused({"tick-a.service", "tick-a.service"}));
    CHECK(refused({"tick-a.service"}, {{"enable", std::vector<std::string>{"tick-b.service"}}}));
    CHECK(refused({"tick-a.service"}, {{"now", true}}));
    CHECK(refused({"tick-" + std::string(250, 'a') + ".service"}));
}
