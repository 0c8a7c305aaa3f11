#pragma once

#include "auth/authorizer.hpp"
#include "builds/build_service.hpp"
#include "builder_adaptor.h"
#include "bus/call_context.hpp"
#include "bus/job_object.hpp"
#include "bus/mount_object.hpp"
#include "caps/caps_service.hpp"
#include "daemon/idle_exit.hpp"
#include "mounts/mount_service.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <memory>

namespace left4me {

// org.left4me.Builder at /org/left4me/Builder. Every method has one shape:
// read arguments -> validate -> authorize (asynchronously) -> hand over to
// the operation layer -> reply. Only sdbus::Error leaves a handler.
class ManagerObject final : public sdbus::AdaptorInterfaces<org::left4me::Builder_adaptor, sdbus::ObjectManager_adaptor>
{
  public:
    ManagerObject(sdbus::IConnection& bus, const Config& config, Authorizer& authorizer, BuildService& builds,
                  MountService& mounts, const CapsService& caps, IdleExit& idle);
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

    void cancelJob(const std::shared_ptr<sdbus::Result<>>& reply, const CallContext& call, uint64_t id);
    // Authorizes REQUEST, then runs THEN; a refusal or an exception from
    // THEN becomes the error reply through FAIL.
    void authorizeThen(AuthRequest request, std::function<void(const sdbus::Error&)> fail, std::function<void()> then);

    sdbus::IConnection& bus_;
    const Config& config_;
    Authorizer& authorizer_;
    void syncMountObject(const std::string& instance);

    BuildService& builds_;
    MountService& mounts_;
    const CapsService& caps_;
    IdleExit& idle_;
    // Declared before the job objects, which hold a reference to it.
    CallerUids callers_;
    ReadBudget reads_;
    std::map<uint64_t, std::unique_ptr<JobObject>> jobs_;
    std::map<std::string, std::unique_ptr<MountObject>> mountObjects_;
};

} // namespace left4me
