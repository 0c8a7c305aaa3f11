#pragma once

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
// An empty IP address list (a(iayu)), e.g. to clear IPAddressAllow=.
struct EmptyAddressList
{
};

struct UnitProperty
{
    std::string name;
    std::variant<bool, uint64_t, std::string, EmptyAddressList> value;
};

// What a service unit left behind once it stopped.
struct ServiceOutcome
{
    std::string result;             // systemd's Result=, e.g. "success", "exit-code"
    uint64_t execMainStartUsec = 0; // 0: this (possibly freshly loaded) unit never ran
    int32_t execMainCode = 0;
    int32_t execMainStatus = 0;
};

// Asynchronous client of org.freedesktop.systemd1 on the daemon's own bus
// connection: every call returns at once and its callback runs later on the
// one event loop. A null error pointer in a callback means success.
class SystemdClient
{
  public:
    using Done = std::function<void(const sdbus::Error*)>;

    explicit SystemdClient(sdbus::IConnection& bus);

    // Asks systemd to send unit and job signals to us; without it,
    // PropertiesChanged and JobRemoved are never emitted.
    void subscribe();

    void refUnit(const std::string& unit, Done done);
    void unrefUnit(const std::string& unit);
    void setUnitProperties(const std::string& unit, const std::vector<UnitProperty>& properties, Done done);
    // DONE gets the path of the start job; its end is reported to
    // whenJobRemoved().
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
    void activeState(const std::string& unit, std::function<void(const sdbus::Error*, std::string)> done);

    // Calls ON_CHANGE with the new ActiveState each time systemd announces a
    // change of UNIT. The watch lasts as long as the returned slot.
    [[nodiscard]] sdbus::Slot watchActiveState(const std::string& unit, std::function<void(std::string)> onChange);

  private:
    // Calls a manager method whose reply the caller does not need.
    template <typename... Args> void callManager(const char* method, Done done, const Args&... args);
    // Calls a manager method that answers with a job path.
    template <typename... Args>
    void callManagerForJob(const char* method, std::function<void(const sdbus::Error*, std::string)> done,
                           const Args&... args);
    void onJobRemoved(const std::string& jobPath, const std::string& result);

    sdbus::IConnection& bus_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::map<std::string, std::function<void(std::string)>> jobWaiters_;
    // Results of jobs removed before anyone asked, in case the signal
    // overtakes our handling of the StartUnit reply. Bounded.
    std::map<std::string, std::string> removedJobs_;
};

} // namespace left4me
