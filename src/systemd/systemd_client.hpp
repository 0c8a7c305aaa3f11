#pragma once

#include "net/ip_prefix.hpp"
#include "util/bounded_map.hpp"
#include "loop/call_gate.hpp"
#include "loop/glib_source.hpp"
#include "util/name_owner.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace left4me {

// One unit property to set, in plain types so that the code choosing
// properties stays free of the bus (see build/unit_properties.hpp).
// An IP address list (a(iayu)), as IPAddressAllow= takes it: setting an
// empty one clears the list, a later non-empty one in the same call adds.
struct AddressList
{
    std::vector<net::IpPrefix> prefixes;
};

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
// allocated for this run. nobody when the unit is not running.
struct ServiceUser
{
    static constexpr uint32_t none = 0xffffffff; // systemd's "unset"
    uint32_t uid = none;
    uint32_t gid = none;
};

// The error sd-bus makes up when a call gets no answer within its timeout
// (25 s): unlike systemd's own errors, the call may still take effect later.
inline constexpr const char* noReplyError = "org.freedesktop.DBus.Error.NoReply";

// Asynchronous client of org.freedesktop.systemd1 on the daemon's own bus
// connection: every call returns at once and its callback runs later on the
// one event loop. A null error pointer in a callback means success.
class SystemdClient
{
  public:
    using Done = std::function<void(const sdbus::Error*)>;

    explicit SystemdClient(sdbus::IConnection& bus);
    ~SystemdClient();
    SystemdClient(const SystemdClient&) = delete;
    SystemdClient& operator=(const SystemdClient&) = delete;
    SystemdClient(SystemdClient&&) = delete;
    SystemdClient& operator=(SystemdClient&&) = delete;

    // Asks systemd to send unit and job signals to us; without it,
    // PropertiesChanged and JobRemoved are never emitted.
    void subscribe();

    void refUnit(const std::string& unit, Done done);
    void unrefUnit(const std::string& unit);
    void setUnitProperties(const std::string& unit, const std::vector<UnitProperty>& properties, Done done);
    // DONE gets the path of the start job; its end is reported to
    // whenJobRemoved(). This and the other starts answer an error only when
    // the unit is not starting: when systemd did not answer in time (the
    // error noReplyError), the unit has been stopped first.
    void startUnit(const std::string& unit, std::function<void(const sdbus::Error*, std::string)> done);
    // Calls DONE with the job's result ("done", "failed", "canceled", ...)
    // once systemd removes the job at JOB_PATH.
    void whenJobRemoved(const std::string& jobPath, std::function<void(std::string)> done);
    void stopUnit(const std::string& unit, Done done);
    // Creates and starts a transient unit; DONE gets the start job's path.
    void startTransientUnit(const std::string& unit, const std::vector<UnitProperty>& properties,
                            std::function<void(const sdbus::Error*, std::string)> done);
    // Starts UNIT in mode "fail"; DONE gets the start job's path.
    void startUnitFailing(const std::string& unit, std::function<void(const sdbus::Error*, std::string)> done);
    void stopUnitJob(const std::string& unit, std::function<void(const sdbus::Error*, std::string)> done);
    void resetFailedUnit(const std::string& unit);
    void reload(Done done);
    void enableUnitFile(const std::string& unit, Done done);
    void disableUnitFile(const std::string& unit, Done done);
    void serviceOutcome(const std::string& unit, std::function<void(const sdbus::Error*, ServiceOutcome)> done);
    void serviceUser(const std::string& unit, std::function<void(const sdbus::Error*, ServiceUser)> done);
    // UNIT's IPAddressAllow= as loaded (its unit file and drop-ins).
    void addressAllow(const std::string& unit,
                      std::function<void(const sdbus::Error*, std::vector<net::IpPrefix>)> done);
    void activeState(const std::string& unit, std::function<void(const sdbus::Error*, std::string)> done);

    // Calls ON_CHANGE with the new ActiveState each time systemd announces a
    // change of UNIT. The watch lasts as long as the returned slot, which
    // must not outlive this client. Throws sdbus::Error if the bus refuses
    // the match it needs.
    [[nodiscard]] sdbus::Slot watchActiveState(const std::string& unit, std::function<void(std::string)> onChange);

  private:
    // Calls METHOD of INTERFACE on PROXY with ARGS once calls_ has room
    // (see below), and gives DONE the
    // error (or null) and the reply's values. A call that cannot even be
    // sent reaches DONE as an error too.
    template <typename... Results, typename... Args>
    void call(std::shared_ptr<sdbus::IProxy> proxy, const char* interface, const char* method,
              std::function<void(const sdbus::Error*, Results...)> done, Args... args);
    // Calls a manager method whose reply the caller does not need.
    template <typename... Args> void callManager(const char* method, Done done, const Args&... args);
    // Calls a manager method that answers with a job path.
    template <typename... Args>
    void callManagerForJob(const char* method, std::function<void(const sdbus::Error*, std::string)> done,
                           const Args&... args);
    // The same for a method that starts UNIT, with an unanswered call
    // settled by stopUnanswered() before DONE sees its error.
    template <typename... Args>
    void callManagerToStart(const char* method, const std::string& unit,
                            std::function<void(const sdbus::Error*, std::string)> done, const Args&... args);
    void stopUnanswered(const std::string& unit, sdbus::Error error,
                        std::function<void(const sdbus::Error*, std::string)> done);
    std::shared_ptr<sdbus::IProxy> unitProxy(const std::string& unit);
    // Every property of UNIT's org.freedesktop.systemd1.Service interface.
    void serviceProperties(const std::string& unit,
                           std::function<void(const sdbus::Error*, const std::map<std::string, sdbus::Variant>&)> done);
    void onJobRemoved(const std::string& jobPath, const std::string& result);
    void onUnitChanged(sdbus::Message& message);
    // True if MESSAGE, a WHAT signal, comes from systemd itself.
    [[nodiscard]] bool fromSystemd(const sdbus::Message& message, const char* what) const;
    // The unit match exists while a unit is watched, and for a while after.
    void needUnitChanges();
    void dropUnitChangesLater();

    // dbus-daemon refuses a connection more than 128 calls awaiting replies
    // (max_replies_per_connection, Debian's system bus), failing the
    // excess; 100 builds starting at once make 200 calls within a moment.
    // Half of it leaves room for the connection's other calls.
    CallGate calls_{64};
    // The calls sent and not yet answered, by a number of our own. Each
    // reply callback holds its proxy, and the proxy holds the callback, so a
    // call still out when the daemon stops would keep both (and the bus
    // connection they reference) alive past the end: the destructor
    // cancels them, which breaks the cycle.
    std::map<uint64_t, sdbus::PendingAsyncCall> inFlight_;
    uint64_t nextCall_ = 0;

    sdbus::IConnection& bus_;
    // systemd's unique name: every signal we act on must come from it (see
    // NameOwner). Declared before the proxy, whose signal handler reads it.
    NameOwner systemd_;
    std::shared_ptr<sdbus::IProxy> manager_;
    // One match for every unit's PropertiesChanged, not one per build: each
    // AddMatch is a synchronous round trip (sdbus-c++ 1.2 has no
    // asynchronous one) that would stall the loop at every start. It is
    // added with the first watch and dropped once none has been left for
    // unitChangesLingerSec, so that an idle daemon, or one only mounting, is
    // not woken by every unit change on the host, and back-to-back builds
    // pay the round trip once. Watches by object path, then by watch id.
    static constexpr unsigned unitChangesLingerSec = 30;
    sdbus::Slot unitChanges_;
    GlibSource dropMatchTimer_;
    std::map<std::string, std::map<uint64_t, std::function<void(std::string)>>> stateWatches_;
    uint64_t nextWatch_ = 0;
    std::map<std::string, std::function<void(std::string)>> jobWaiters_;
    // Results of jobs removed before anyone asked, in case the signal
    // overtakes our handling of the StartUnit reply. We subscribe to every
    // job on the host, so most are never asked for: keep the newest few.
    BoundedMap<std::string> removedJobs_{256};
};

} // namespace left4me
