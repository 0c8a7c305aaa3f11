#pragma once

#include "loop/call_gate.hpp"
#include "loop/glib_source.hpp"
#include "systemd/systemd.hpp"
#include "util/bounded_map.hpp"
#include "util/name_owner.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace left4me {

// The Systemd interface over the daemon's own bus connection: an
// asynchronous client of org.freedesktop.systemd1 whose callbacks run later
// on the one event loop. It acts only on signals that systemd itself sent.
class SystemdClient final : public Systemd
{
  public:
    explicit SystemdClient(sdbus::IConnection& bus);
    ~SystemdClient() override;
    SystemdClient(const SystemdClient&) = delete;
    SystemdClient& operator=(const SystemdClient&) = delete;
    SystemdClient(SystemdClient&&) = delete;
    SystemdClient& operator=(SystemdClient&&) = delete;

    // Asks systemd to send unit and job signals to us; without it,
    // PropertiesChanged and JobRemoved are never emitted.
    void subscribe();

    void refUnit(const std::string& unit, Done done) override;
    void unrefUnit(const std::string& unit) override;
    void setUnitProperties(const std::string& unit, const std::vector<UnitProperty>& properties, Done done) override;
    void startUnit(const std::string& unit, Queued done) override;
    void startUnitFailing(const std::string& unit, Queued done) override;
    void startTransientUnit(const std::string& unit, const std::vector<UnitProperty>& properties, Queued done) override;
    void stopUnit(const std::string& unit, Queued done) override;
    void whenJobRemoved(const std::string& jobPath, std::function<void(std::string)> done) override;
    void resetFailedUnit(const std::string& unit) override;
    void reload(Done done) override;
    void enableUnitFile(const std::string& unit, Done done) override;
    void disableUnitFile(const std::string& unit, Done done) override;
    void enableUnitFiles(const std::vector<std::string>& units, bool runtime,
                         std::function<void(const SystemdError*, std::vector<UnitFileChange>)> done) override;
    void restartUnit(const std::string& unit, Queued done) override;
    void unitFacts(const std::string& unit, std::function<void(const SystemdError*, UnitFacts)> done) override;
    void unitFileLinks(const std::string& unit,
                       std::function<void(const SystemdError*, std::vector<std::string>)> done) override;
    void serviceOutcome(const std::string& unit,
                        std::function<void(const SystemdError*, ServiceOutcome)> done) override;
    void serviceUser(const std::string& unit, std::function<void(const SystemdError*, ServiceUser)> done) override;
    void addressAllow(const std::string& unit,
                      std::function<void(const SystemdError*, std::vector<net::IpPrefix>)> done) override;
    void activeState(const std::string& unit, std::function<void(const SystemdError*, std::string)> done) override;
    [[nodiscard]] Subscription watchActiveState(const std::string& unit,
                                                std::function<void(std::string)> onChange) override;

  private:
    // Calls METHOD of INTERFACE on PROXY with ARGS once calls_ has room
    // (see below), and gives DONE the
    // error (or null) and the reply's values. A call that cannot even be
    // sent reaches DONE as an error too.
    template <typename... Results, typename... Args>
    void call(std::shared_ptr<sdbus::IProxy> proxy, const char* interface, const char* method,
              std::function<void(const SystemdError*, Results...)> done, Args... args);
    // Calls a manager method whose reply the caller does not need.
    template <typename... Args> void callManager(const char* method, Done done, const Args&... args);
    // Calls a manager method that answers with a job path.
    template <typename... Args> void callManagerForJob(const char* method, Queued done, const Args&... args);
    // The same for a method that starts UNIT, with an unanswered call
    // settled by stopUnanswered() before DONE sees its error.
    template <typename... Args>
    void callManagerToStart(const char* method, const std::string& unit, Queued done, const Args&... args);
    void stopUnanswered(const std::string& unit, SystemdError error, Queued done);
    // A proxy of systemd's object at PATH (a unit's, a job's).
    std::shared_ptr<sdbus::IProxy> proxyAt(const std::string& path);
    // Every property of UNIT's org.freedesktop.systemd1.Service interface.
    void serviceProperties(const std::string& unit,
                           std::function<void(const SystemdError*, const std::map<std::string, sdbus::Variant>&)> done);
    void onJobRemoved(const std::string& jobPath, const std::string& result);
    // systemd's bus name changed hands: every signal it sent meanwhile is
    // lost, and a new instance knows nothing of our subscription.
    void onSystemdOwner(const std::string& oldOwner, const std::string& newOwner);
    // Asks systemd whether each awaited job still exists, and ends the
    // wait of each that does not with jobLostResult.
    void checkAwaitedJobs();
    // Tells every watch of a unit its ActiveState now, as if systemd had
    // announced it: a change while it was off the bus went unannounced.
    void refreshWatchedStates();
    void activeStateAt(const std::string& path, std::function<void(const SystemdError*, std::string)> done);
    void notifyWatches(const std::string& path, const std::string& state);
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
    // While any job is awaited, checkAwaitedJobs() runs this often, so that
    // no wait outlasts a lost signal by more than this: JobRemoved can be
    // lost without systemd's name changing hands where we could see it
    // (a reexec faster than the bus driver's announcement reaches us).
    static constexpr unsigned jobCheckSec = 15;
    GlibSource jobCheck_;
    // Results of jobs removed before anyone asked, in case the signal
    // overtakes our handling of the StartUnit reply. We subscribe to every
    // job on the host, so most are never asked for: keep the newest few.
    BoundedMap<std::string> removedJobs_{256};
};

} // namespace left4me
