#pragma once

#include "net/ip_prefix.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

// What the operations ask of systemd (org.freedesktop.systemd1), in plain
// types: SystemdClient speaks it over the bus, and the service tests put a
// fake in its place (tests/service/fake_systemd.hpp). Every call returns at
// once and answers later, on the one event loop; a null error means success.
namespace left4me {

// An error systemd (or the bus on its behalf) answered: its D-Bus name and
// message, e.g. org.freedesktop.systemd1.NoSuchUnit.
struct SystemdError
{
    std::string name;
    std::string message;
};

// The error sd-bus makes up when a call gets no answer within its timeout
// (25 s): unlike systemd's own errors, the call may still take effect later.
inline constexpr const char* noReplyError = "org.freedesktop.DBus.Error.NoReply";
inline constexpr const char* noSuchUnitError = "org.freedesktop.systemd1.NoSuchUnit";
// The result whenJobRemoved() gives for a job systemd no longer has but
// whose JobRemoved never reached us (systemd left the bus meanwhile, e.g.
// for a daemon-reexec): the caller settles from its unit's state instead.
inline constexpr const char* jobLostResult = "lost";

// An IP address list (a(iayu)), as IPAddressAllow= takes it: setting an
// empty one clears the list, a later non-empty one in the same call adds.
struct AddressList
{
    std::vector<net::IpPrefix> prefixes;
};

// One unit property to set (see builds/unit_properties.hpp).
struct UnitProperty
{
    std::string name;
    std::variant<bool, uint64_t, std::string, AddressList> value;
};

// What a service unit left behind once it stopped.
struct ServiceOutcome
{
    std::string result;             // systemd's Result=, e.g. "success", "exit-code"
    uint64_t execMainStartUsec = 0; // 0: this (possibly freshly loaded) unit never ran
    int32_t execMainCode = 0;
    int32_t execMainStatus = 0;
};

// The user systemd runs a service as: with DynamicUser=, the one it
// allocated for this run. none when the unit is not running.
struct ServiceUser
{
    static constexpr uint32_t none = 0xffffffff; // systemd's "unset"
    uint32_t uid = none;
    uint32_t gid = none;
};

// One symlink or removal EnableUnitFiles/DisableUnitFiles made: systemd's
// a(sss) of type ("symlink", "unlink"), the path and its target.
struct UnitFileChange
{
    std::string type;
    std::string path;
    std::string destination;
};

// What systemd made of a unit once loaded (LoadUnit): its state, its
// dependencies, and for a service what it runs as and how. The facts
// InstallUnits judges an add-on's unit by, parsed by systemd itself.
struct UnitFacts
{
    std::string id;            // its own name; another one when the name asked for is an alias
    std::string loadState;     // "loaded", "not-found", "bad-setting", "masked", ...
    std::string loadError;     // why it did not load, as systemd says it
    std::string activeState;   // "active", "inactive", ...
    std::string fragmentPath;  // its unit file; empty if none
    std::string unitFileState; // "enabled", "disabled", ...
    // Requires, Requisite, Wants, BindsTo, PartOf, Upholds, OnFailure,
    // OnSuccess, PropagatesReloadTo, ReloadPropagatedFrom, Conflicts,
    // JoinsNamespaceOf and Triggers, each with the units it names.
    std::map<std::string, std::vector<std::string>> dependencies;
    // Service units only.
    std::string user;
    std::string group;
    bool dynamicUser = false;
    std::vector<std::string> supplementaryGroups;
    uint64_t ambientCapabilities = 0;
    // Each command line of ExecStartPre, ExecStart, ... (their ...Ex
    // properties): the property's name and the command's flags, e.g.
    // "privileged" for a "+" prefix or PermissionsStartOnly=.
    std::vector<std::pair<std::string, std::vector<std::string>>> commandFlags;
};

// A watch that lasts as long as this owner: destroying it (or reset())
// ends the watch. Move-only.
class Subscription
{
  public:
    Subscription() = default;
    explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
    Subscription& operator=(Subscription&& other) noexcept
    {
        if (this != &other)
        {
            reset();
            cancel_ = std::exchange(other.cancel_, nullptr);
        }
        return *this;
    }
    ~Subscription() { reset(); }

    void reset()
    {
        if (auto cancel = std::exchange(cancel_, nullptr))
        {
            cancel();
        }
    }
    explicit operator bool() const { return static_cast<bool>(cancel_); }

  private:
    std::function<void()> cancel_;
};

class Systemd
{
  public:
    using Done = std::function<void(const SystemdError*)>;
    // Gets the path of the job the call queued.
    using Queued = std::function<void(const SystemdError*, std::string job)>;

    Systemd() = default;
    Systemd(const Systemd&) = delete;
    Systemd& operator=(const Systemd&) = delete;
    Systemd(Systemd&&) = delete;
    Systemd& operator=(Systemd&&) = delete;
    virtual ~Systemd() = default;

    virtual void refUnit(const std::string& unit, Done done) = 0;
    virtual void unrefUnit(const std::string& unit) = 0;
    virtual void setUnitProperties(const std::string& unit, const std::vector<UnitProperty>& properties, Done done) = 0;
    // The starts answer an error only when the unit is not starting: when
    // systemd did not answer in time (noReplyError), the unit has been
    // stopped first. Their job's end is reported to whenJobRemoved().
    virtual void startUnit(const std::string& unit, Queued done) = 0;
    // StartUnit in mode "fail".
    virtual void startUnitFailing(const std::string& unit, Queued done) = 0;
    virtual void startTransientUnit(const std::string& unit, const std::vector<UnitProperty>& properties,
                                    Queued done) = 0;
    virtual void stopUnit(const std::string& unit, Queued done) = 0;
    // Calls DONE with the job's result ("done", "failed", "canceled", ...)
    // once systemd removes the job at JOB_PATH, or with jobLostResult once
    // the job is gone without a word: the wait always ends.
    virtual void whenJobRemoved(const std::string& jobPath, std::function<void(std::string)> done) = 0;
    virtual void resetFailedUnit(const std::string& unit) = 0;
    virtual void reload(Done done) = 0;
    virtual void enableUnitFile(const std::string& unit, Done done) = 0;
    virtual void disableUnitFile(const std::string& unit, Done done) = 0;
    // EnableUnitFiles of UNITS (RUNTIME: under /run, gone at reboot),
    // replacing no existing link (an error instead), with the symlinks it
    // made: what their [Install] sections did. enableUnitFile() replaces.
    virtual void enableUnitFiles(const std::vector<std::string>& units, bool runtime,
                                 std::function<void(const SystemdError*, std::vector<UnitFileChange>)> done) = 0;
    virtual void restartUnit(const std::string& unit, Queued done) = 0;
    // LoadUnit, then the unit's properties (its Service ones for a service).
    virtual void unitFacts(const std::string& unit, std::function<void(const SystemdError*, UnitFacts)> done) = 0;
    // GetUnitFileLinks: the symlinks a DisableUnitFiles of UNIT would
    // remove, Also= units' included, without removing any (a dry run).
    virtual void unitFileLinks(const std::string& unit,
                               std::function<void(const SystemdError*, std::vector<std::string>)> done) = 0;
    virtual void serviceOutcome(const std::string& unit,
                                std::function<void(const SystemdError*, ServiceOutcome)> done) = 0;
    virtual void serviceUser(const std::string& unit, std::function<void(const SystemdError*, ServiceUser)> done) = 0;
    // UNIT's IPAddressAllow= as loaded (its unit file and drop-ins).
    virtual void addressAllow(const std::string& unit,
                              std::function<void(const SystemdError*, std::vector<net::IpPrefix>)> done) = 0;
    virtual void activeState(const std::string& unit, std::function<void(const SystemdError*, std::string)> done) = 0;
    // Calls ON_CHANGE with the new ActiveState each time systemd announces a
    // change of UNIT, for as long as the returned Subscription lives (not
    // past this client). Throws std::runtime_error if the watch cannot be set.
    [[nodiscard]] virtual Subscription watchActiveState(const std::string& unit,
                                                        std::function<void(std::string)> onChange) = 0;
};

} // namespace left4me
