#pragma once

#include "builder_adaptor.h"
#include "builds/build_service.hpp"
#include "bus/addon_units_object.hpp"
#include "bus/call_server.hpp"
#include "bus/job_object.hpp"
#include "bus/mount_object.hpp"
#include "bus/read_budget.hpp"
#include "caps/caps_service.hpp"
#include "mounts/mount_service.hpp"
#include "servers/server_service.hpp"
#include "units/units_service.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <memory>

namespace left4me {

// org.left4me.Builder at /org/left4me/Builder. Each method is a few
// declarative lines for CallServer::serve: its request (checked, its
// options decoded from the operation's table), the polkit action with its
// details and message, and the operation it hands the request to.
class ManagerObject final : public sdbus::AdaptorInterfaces<org::left4me::Builder_adaptor, sdbus::ObjectManager_adaptor>
{
  public:
    ManagerObject(sdbus::IConnection& bus, const Config& config, Authorizer& authorizer, BuildService& builds,
                  MountService& mounts, const CapsService& caps, UnitsService& units, ServerService& servers,
                  IdleExit& idle);
    ManagerObject(const ManagerObject&) = delete;
    ManagerObject& operator=(const ManagerObject&) = delete;
    ~ManagerObject();

  private:
    void StartBuild(sdbus::Result<sdbus::ObjectPath>&& result, std::string overlay, std::string script,
                    std::map<std::string, sdbus::Variant> options) override;
    void Cancel(sdbus::Result<>&& result, sdbus::ObjectPath job) override;
    void Mount(sdbus::Result<std::string>&& result, std::string instance, std::vector<std::string> layers,
               std::map<std::string, sdbus::Variant> options) override;
    void Unmount(sdbus::Result<>&& result, std::string instance) override;
    void ApplyCaps(sdbus::Result<>&& result, std::string addon, std::string version, std::string binary,
                   std::vector<std::string> capabilities, std::map<std::string, sdbus::Variant> options) override;
    void InstallUnits(sdbus::Result<>&& result, std::string addon, std::string version, std::vector<std::string> units,
                      std::map<std::string, sdbus::Variant> options) override;
    void RemoveUnits(sdbus::Result<>&& result, std::string addon) override;
    void EnableServer(sdbus::Result<std::string>&& result, std::string templateName, std::string instance,
                      std::map<std::string, sdbus::Variant> options) override;
    void DisableServer(sdbus::Result<std::string>&& result, std::string templateName, std::string instance,
                       std::map<std::string, sdbus::Variant> options) override;

    // Cancel of job ID by CALL: its owner may; anyone else needs cancel-other.
    Plan<Done> cancelPlan(const CallContext& call, uint64_t id);
    // EnableServer (ENABLE) or DisableServer: one action, the verb a detail.
    void serveServer(const char* method, sdbus::Result<std::string>&& result, bool enable, std::string templateName,
                     std::string instance, const std::map<std::string, sdbus::Variant>& options);
    void syncMountObject(const std::string& instance);
    void syncAddonObject(const std::string& addon);

    sdbus::IConnection& bus_;
    const Config& config_;
    BuildService& builds_;
    MountService& mounts_;
    const CapsService& caps_;
    UnitsService& units_;
    ServerService& servers_;
    // Declared before the job objects, which hold references to them.
    CallerUids callers_;
    ReadBudget reads_;
    CallServer server_;
    std::map<uint64_t, std::unique_ptr<JobObject>> jobs_;
    std::map<std::string, std::unique_ptr<MountObject>> mountObjects_;
    std::map<std::string, std::unique_ptr<AddonUnitsObject>> addonObjects_;
};

} // namespace left4me
