#include "bus/manager_object.hpp"

#include "auth/messages.hpp"
#include "bus/names.hpp"
#include "bus/option_values.hpp"
#include "util/join.hpp"

namespace left4me {

ManagerObject::ManagerObject(sdbus::IConnection& bus, const Config& config, Authorizer& authorizer,
                             BuildService& builds, MountService& mounts, const CapsService& caps, UnitsService& units,
                             ServerService& servers, IdleExit& idle)
    : AdaptorInterfaces(bus, names::managerPath), bus_(bus), config_(config), builds_(builds), mounts_(mounts),
      caps_(caps), units_(units), servers_(servers), server_(callers_, authorizer, idle)
{
    builds_.onJobCreated([this](BuildJob& job) {
        jobs_[job.info().id] = std::make_unique<JobObject>(
            bus_, job, server_, reads_, [this](const CallContext& call, uint64_t id) { return cancelPlan(call, id); });
    });
    builds_.onJobRemoved([this](uint64_t id) { jobs_.erase(id); });
    registerAdaptor();
    mounts_.onChanged([this](const std::string& instance) { syncMountObject(instance); });
    for (const auto& [instance, record] : mounts_.records())
    {
        syncMountObject(instance);
    }
    units_.onChanged([this](const std::string& addon) { syncAddonObject(addon); });
    for (const auto& [addon, record] : units_.records())
    {
        syncAddonObject(addon);
    }
}

ManagerObject::~ManagerObject()
{
    mounts_.onChanged({});
    units_.onChanged({});
    builds_.onJobRemoved({});
    mountObjects_.clear();
    addonObjects_.clear();
    jobs_.clear();
    unregisterAdaptor();
}

void ManagerObject::StartBuild(sdbus::Result<sdbus::ObjectPath>&& result, std::string overlay, std::string script,
                               std::map<std::string, sdbus::Variant> options)
{
    server_.serve<uint64_t>(
        "StartBuild", getObject(), std::move(result),
        [&](const CallContext& call) {
            auto request = buildRequest(call.uid, std::move(overlay), std::move(script),
                                        decodeOptions(options, buildOptionTable()), config_.limits);
            return Plan<uint64_t>{AuthSpec{names::action::build, {{"overlay", request.overlay}}, messages::build},
                                  [this, request](const Reply<uint64_t>& reply) { builds_.start(request, reply); }};
        },
        [](sdbus::Result<sdbus::ObjectPath>& r, uint64_t id) { r.returnResults(sdbus::ObjectPath(jobPath(id))); });
}

void ManagerObject::Cancel(sdbus::Result<>&& result, sdbus::ObjectPath job)
{
    server_.serve<Done>(
        "Cancel", getObject(), std::move(result),
        [&](const CallContext& call) {
            auto id = jobIdFromPath(job);
            if (!id)
            {
                throw OpError(ErrorKind::noSuchJob, "Argument job: there is no job at \"" + std::string(job) +
                                                        "\"; list jobs with the ObjectManager's GetManagedObjects.");
            }
            return cancelPlan(call, *id);
        },
        [](sdbus::Result<>& r, const Done& done) { sendResult(r, done); });
}

Plan<Done> ManagerObject::cancelPlan(const CallContext& call, uint64_t id)
{
    const auto* job = builds_.find(id);
    if (job == nullptr)
    {
        throw OpError(ErrorKind::noSuchJob,
                      "There is no job " + std::to_string(id) +
                          " (it may have been removed by retention); list jobs with the ObjectManager's "
                          "GetManagedObjects.");
    }
    auto run = [this, id](const Reply<Done>& reply) { builds_.cancel(id, reply); };
    if (call.uid == job->info().owner)
    {
        return {std::nullopt, run}; // the owner may always stop what it started
    }
    return {AuthSpec{names::action::cancelOther,
                     {{"job", std::to_string(id)}, {"overlay", job->info().overlay}},
                     messages::cancelOther},
            run};
}

void ManagerObject::Mount(sdbus::Result<std::string>&& result, std::string instance, std::vector<std::string> layers,
                          std::map<std::string, sdbus::Variant> options)
{
    server_.serve<std::string>(
        "Mount", getObject(), std::move(result),
        [&](const CallContext& call) {
            auto request = mountRequest(call.uid, std::move(instance), std::move(layers),
                                        decodeOptions(options, mountOptionTable()));
            return Plan<std::string>{
                AuthSpec{names::action::mount,
                         {{"instance", request.instance}, {"layers", join(request.layers, ":")}},
                         messages::mount},
                [this, request](const Reply<std::string>& reply) { mounts_.mount(request, reply); }};
        },
        [](sdbus::Result<std::string>& r, const std::string& where) { sendResult(r, where); });
}

void ManagerObject::Unmount(sdbus::Result<>&& result, std::string instance)
{
    server_.serve<Done>(
        "Unmount", getObject(), std::move(result),
        [&](const CallContext& call) {
            auto request = unmountRequest(call.uid, std::move(instance));
            return Plan<Done>{AuthSpec{names::action::mount, {{"instance", request.instance}}, messages::unmount},
                              [this, request](const Reply<Done>& reply) { mounts_.unmount(request, reply); }};
        },
        [](sdbus::Result<>& r, const Done& done) { sendResult(r, done); });
}

void ManagerObject::ApplyCaps(sdbus::Result<>&& result, std::string addon, std::string version, std::string binary,
                              std::vector<std::string> capabilities, std::map<std::string, sdbus::Variant> options)
{
    server_.serve<Done>(
        "ApplyCaps", getObject(), std::move(result),
        [&](const CallContext& call) {
            auto request = applyCapsRequest(call.uid, std::move(addon), std::move(version), std::move(binary),
                                            capabilities, decodeOptions(options, capsOptionTable()), config_);
            return Plan<Done>{AuthSpec{names::action::applyCaps,
                                       {{"addon", request.addon},
                                        {"version", request.version},
                                        {"binary", request.binary},
                                        {"capabilities", join(request.capabilities.names, ",")}},
                                       messages::applyCaps},
                              [this, request](const Reply<Done>& reply) { caps_.apply(request, reply); }};
        },
        [](sdbus::Result<>& r, const Done& done) { sendResult(r, done); });
}

void ManagerObject::InstallUnits(sdbus::Result<>&& result, std::string addon, std::string version,
                                 std::vector<std::string> units, std::map<std::string, sdbus::Variant> options)
{
    server_.serve<Done>(
        "InstallUnits", getObject(), std::move(result),
        [&](const CallContext& call) {
            auto request = installUnitsRequest(call.uid, std::move(addon), std::move(version), std::move(units),
                                               decodeOptions(options, unitsOptionTable()));
            return Plan<Done>{AuthSpec{names::action::manageUnits,
                                       {{"addon", request.addon},
                                        {"version", request.version},
                                        {"units", join(request.units, " ")},
                                        {"enable", join(request.enable, " ")}},
                                       messages::installUnits},
                              [this, request](const Reply<Done>& reply) { units_.install(request, reply); }};
        },
        [](sdbus::Result<>& r, const Done& done) { sendResult(r, done); });
}

void ManagerObject::RemoveUnits(sdbus::Result<>&& result, std::string addon)
{
    server_.serve<Done>(
        "RemoveUnits", getObject(), std::move(result),
        [&](const CallContext& call) {
            auto request = removeUnitsRequest(call.uid, std::move(addon));
            return Plan<Done>{AuthSpec{names::action::manageUnits, {{"addon", request.addon}}, messages::removeUnits},
                              [this, request](const Reply<Done>& reply) { units_.remove(request, reply); }};
        },
        [](sdbus::Result<>& r, const Done& done) { sendResult(r, done); });
}

void ManagerObject::syncAddonObject(const std::string& addon)
{
    // A new installation is a new object: its properties never change.
    addonObjects_.erase(addon);
    if (auto record = units_.records().find(addon); record != units_.records().end())
    {
        addonObjects_[addon] = std::make_unique<AddonUnitsObject>(bus_, record->second);
    }
}

void ManagerObject::EnableServer(sdbus::Result<std::string>&& result, std::string templateName, std::string instance,
                                 std::map<std::string, sdbus::Variant> options)
{
    serveServer("EnableServer", std::move(result), true, std::move(templateName), std::move(instance), options);
}

void ManagerObject::DisableServer(sdbus::Result<std::string>&& result, std::string templateName, std::string instance,
                                  std::map<std::string, sdbus::Variant> options)
{
    serveServer("DisableServer", std::move(result), false, std::move(templateName), std::move(instance), options);
}

void ManagerObject::serveServer(const char* method, sdbus::Result<std::string>&& result, bool enable,
                                std::string templateName, std::string instance,
                                const std::map<std::string, sdbus::Variant>& options)
{
    server_.serve<std::string>(
        method, getObject(), std::move(result),
        [&](const CallContext& call) {
            auto request = serverRequest(call.uid, std::move(templateName), std::move(instance),
                                         decodeOptions(options, serverOptionTable()), config_.serverTemplates);
            return Plan<std::string>{AuthSpec{names::action::enableServer,
                                              {{"template", request.templateName},
                                               {"instance", request.instance},
                                               {"unit", request.unit},
                                               {"verb", enable ? "enable" : "disable"},
                                               {"now", request.now ? "true" : "false"}},
                                              enable ? messages::enableServer : messages::disableServer},
                                     [this, enable, request](const Reply<std::string>& reply) {
                                         enable ? servers_.enable(request, reply) : servers_.disable(request, reply);
                                     }};
        },
        [](sdbus::Result<std::string>& r, const std::string& unit) { sendResult(r, unit); });
}

void ManagerObject::syncMountObject(const std::string& instance)
{
    auto record = mounts_.records().find(instance);
    if (record == mounts_.records().end())
    {
        mountObjects_.erase(instance);
    }
    else if (mountObjects_.count(instance) == 0)
    {
        mountObjects_[instance] = std::make_unique<MountObject>(bus_, record->second);
    }
}

} // namespace left4me
