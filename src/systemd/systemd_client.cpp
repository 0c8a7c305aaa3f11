#include "systemd/systemd_client.hpp"

#include "systemd/unit_names.hpp"
#include "util/log.hpp"
#include "util/variant_map.hpp"

#include <glib.h>

namespace left4me {

namespace {

constexpr const char* service = "org.freedesktop.systemd1";
constexpr const char* managerPath = "/org/freedesktop/systemd1";
constexpr const char* managerInterface = "org.freedesktop.systemd1.Manager";
constexpr const char* propertiesInterface = "org.freedesktop.DBus.Properties";

// systemd's a(iayu): family, address bytes, prefix length.
using AddressStructs = std::vector<sdbus::Struct<int32_t, std::vector<uint8_t>, uint32_t>>;

sdbus::Variant toVariant(const UnitProperty& property)
{
    return std::visit(
        [](const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, AddressList>)
            {
                AddressStructs list;
                for (const auto& prefix : v.prefixes)
                {
                    auto bytes = prefix.normalized().bytes;
                    list.emplace_back(prefix.family,
                                      std::vector<uint8_t>(bytes.begin(), bytes.begin() + prefix.addressBytes()),
                                      prefix.length);
                }
                return sdbus::Variant(list);
            }
            else
            {
                return sdbus::Variant(v);
            }
        },
        property.value);
}

std::vector<sdbus::Struct<std::string, sdbus::Variant>> toVariants(const std::vector<UnitProperty>& properties)
{
    std::vector<sdbus::Struct<std::string, sdbus::Variant>> values;
    values.reserve(properties.size());
    for (const auto& property : properties)
    {
        values.emplace_back(property.name, toVariant(property));
    }
    return values;
}

// systemd's a(sasasttttuii) for one kind of command line: path, argv,
// flags, four timestamps, pid, code, status.
using CommandsEx = std::vector<sdbus::Struct<std::string, std::vector<std::string>, std::vector<std::string>, uint64_t,
                                             uint64_t, uint64_t, uint64_t, uint32_t, int32_t, int32_t>>;

void readServiceFacts(const std::map<std::string, sdbus::Variant>& service, UnitFacts& facts)
{
    facts.user = variantOr<std::string>(service, "User", "");
    facts.group = variantOr<std::string>(service, "Group", "");
    facts.dynamicUser = variantOr<bool>(service, "DynamicUser", false);
    facts.supplementaryGroups = variantOr<std::vector<std::string>>(service, "SupplementaryGroups", {});
    facts.ambientCapabilities = variantOr<uint64_t>(service, "AmbientCapabilities", 0);
    for (const char* name : {"ExecConditionEx", "ExecStartPreEx", "ExecStartEx", "ExecStartPostEx", "ExecReloadEx",
                             "ExecStopEx", "ExecStopPostEx"})
    {
        for (const auto& command : variantOr<CommandsEx>(service, name, {}))
        {
            facts.commandFlags.emplace_back(name, command.get<2>());
        }
    }
}

} // namespace

SystemdClient::SystemdClient(sdbus::IConnection& bus)
    : bus_(bus), systemd_(bus, service,
                          [this](const std::string& oldOwner, const std::string& newOwner) {
                              onSystemdOwner(oldOwner, newOwner);
                          }),
      manager_(sdbus::createProxy(bus, service, managerPath))
{
    manager_->uponSignal("JobRemoved")
        .onInterface(managerInterface)
        .call([this](uint32_t, const sdbus::ObjectPath& job, const std::string&, const std::string& result) {
            const auto* message = manager_->getCurrentlyProcessedMessage();
            if (message == nullptr || !fromSystemd(*message, "JobRemoved"))
            {
                return;
            }
            onJobRemoved(job, result);
        });
    manager_->finishRegistration();
}

SystemdClient::~SystemdClient()
{
    for (auto& [id, call] : inFlight_)
    {
        call.cancel();
    }
}

void SystemdClient::needUnitChanges()
{
    dropMatchTimer_.reset();
    if (!unitChanges_)
    {
        unitChanges_ = bus_.addMatch("type='signal',sender='org.freedesktop.systemd1',"
                                     "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                                     "arg0='org.freedesktop.systemd1.Unit'",
                                     [this](sdbus::Message& message) { onUnitChanged(message); });
    }
}

void SystemdClient::dropUnitChangesLater()
{
    if (dropMatchTimer_)
    {
        return;
    }
    dropMatchTimer_ = GlibSource::timeoutSeconds(unitChangesLingerSec, [this] {
        if (stateWatches_.empty())
        {
            unitChanges_.reset();
        }
        return false;
    });
}

void SystemdClient::onJobRemoved(const std::string& jobPath, const std::string& result)
{
    auto waiter = jobWaiters_.find(jobPath);
    if (waiter == jobWaiters_.end())
    {
        removedJobs_.put(jobPath, result);
        return;
    }
    auto done = std::move(waiter->second);
    jobWaiters_.erase(waiter);
    done(result);
}

void SystemdClient::whenJobRemoved(const std::string& jobPath, std::function<void(std::string)> done)
{
    if (auto result = removedJobs_.take(jobPath))
    {
        done(*result);
        return;
    }
    jobWaiters_[jobPath] = std::move(done);
    if (!jobCheck_)
    {
        jobCheck_ = GlibSource::timeoutSeconds(jobCheckSec, [this] {
            checkAwaitedJobs();
            return !jobWaiters_.empty();
        });
    }
}

void SystemdClient::onSystemdOwner(const std::string& oldOwner, const std::string& newOwner)
{
    if (newOwner.empty())
    {
        log::warning("systemd (" + oldOwner + ") left the bus; " + std::to_string(jobWaiters_.size()) +
                         " awaited job(s) will be checked when it is back",
                     {{"LEFT4ME_SYSTEMD_OWNER", oldOwner}});
        return;
    }
    log::notice("systemd is on the bus as " + newOwner + (oldOwner.empty() ? "" : " (was " + oldOwner + ")") +
                    "; subscribing again and checking " + std::to_string(jobWaiters_.size()) + " awaited job(s) and " +
                    std::to_string(stateWatches_.size()) + " watched unit(s), whose signals may be lost",
                {{"LEFT4ME_SYSTEMD_OWNER", newOwner}});
    subscribe();
    checkAwaitedJobs();
    refreshWatchedStates();
}

void SystemdClient::checkAwaitedJobs()
{
    for (const auto& [path, waiter] : jobWaiters_)
    {
        call<sdbus::Variant>(
            proxyAt(path), propertiesInterface, "Get",
            std::function<void(const SystemdError*, sdbus::Variant)>(
                [this, path = path](const SystemdError* error, const sdbus::Variant&) {
                    // systemd answers calls and sends signals in order, so a
                    // JobRemoved it did send has been handled by now.
                    auto waiter = jobWaiters_.find(path);
                    if (error == nullptr || waiter == jobWaiters_.end())
                    {
                        return; // still queued or running, or it ended as told
                    }
                    if (error->name != "org.freedesktop.DBus.Error.UnknownObject" &&
                        error->name != "org.freedesktop.DBus.Error.UnknownInterface" &&
                        error->name != "org.freedesktop.DBus.Error.UnknownProperty" &&
                        error->name != "org.freedesktop.systemd1.NoSuchJob")
                    {
                        return; // systemd is away or busy: the next check asks again
                    }
                    log::warning("systemd's job " + path +
                                     " is gone, and its JobRemoved signal never came; settling it from its unit's "
                                     "state",
                                 {{"LEFT4ME_SYSTEMD_JOB", path}});
                    auto done = std::move(waiter->second);
                    jobWaiters_.erase(waiter);
                    done(jobLostResult);
                }),
            std::string("org.freedesktop.systemd1.Job"), std::string("State"));
    }
}

void SystemdClient::refreshWatchedStates()
{
    for (const auto& [path, watches] : stateWatches_)
    {
        activeStateAt(path, [this, path = path](const SystemdError* error, const std::string& state) {
            // A unit systemd no longer has loaded has ended.
            notifyWatches(path, error != nullptr ? std::string("inactive") : state);
        });
    }
}

void SystemdClient::subscribe()
{
    manager_->callMethodAsync("Subscribe").onInterface(managerInterface).uponReplyInvoke([](const sdbus::Error* error) {
        // A systemd that kept our subscription through a reexec says so.
        if (error != nullptr && error->getName() != "org.freedesktop.systemd1.AlreadySubscribed")
        {
            log::error("Cannot subscribe to systemd's signals; build results will not be seen",
                       {{"ERROR", error->getMessage()}});
        }
    });
}

template <typename... Results, typename... Args>
void SystemdClient::call(std::shared_ptr<sdbus::IProxy> proxy, const char* interface, const char* method,
                         std::function<void(const SystemdError*, Results...)> done, Args... args)
{
    calls_.submit([this, proxy = std::move(proxy), interface, method, done = std::move(done),
                   ... args = std::move(args)]() mutable {
        try
        {
            // The proxy rides along: a unit's proxy lives only for its call.
            auto id = nextCall_++;
            inFlight_[id] =
                proxy->callMethodAsync(method).onInterface(interface).withArguments(args...).uponReplyInvoke(
                    [this, proxy, done, id](const sdbus::Error* error, Results... results) {
                        inFlight_.erase(id);
                        calls_.finished();
                        if (error == nullptr)
                        {
                            return done(nullptr, std::move(results)...);
                        }
                        SystemdError plain{error->getName(), error->getMessage()};
                        done(&plain, std::move(results)...);
                    });
        }
        catch (const sdbus::Error& e)
        {
            calls_.finished();
            SystemdError plain{e.getName(), e.getMessage()};
            done(&plain, Results{}...);
        }
    });
}

template <typename... Args> void SystemdClient::callManager(const char* method, Done done, const Args&... args)
{
    call<>(manager_, managerInterface, method, std::move(done), args...);
}

template <typename... Args> void SystemdClient::callManagerForJob(const char* method, Queued done, const Args&... args)
{
    call<sdbus::ObjectPath>(
        manager_, managerInterface, method,
        std::function<void(const SystemdError*, sdbus::ObjectPath)>(
            [done = std::move(done)](const SystemdError* error, const sdbus::ObjectPath& job) { done(error, job); }),
        args...);
}

template <typename... Args>
void SystemdClient::callManagerToStart(const char* method, const std::string& unit, Queued done, const Args&... args)
{
    callManagerForJob(
        method,
        [this, unit, done = std::move(done)](const SystemdError* error, const std::string& job) {
            if (error != nullptr && error->name == noReplyError)
            {
                return stopUnanswered(unit, *error, done);
            }
            done(error, job);
        },
        unit, args...);
}

// systemd did not answer a start in time (sd-bus gives up after 25 s; a
// loaded host's systemd can take that long), so whether the unit will start
// is unknown: systemd may still act on the call later. Reporting the start
// failed then would leave a unit running (or a mount mounted) that its
// caller has given up on and cleaned up after, its layer fds closed and
// their numbers free for reuse. A StopUnit sent behind the start settles it
// either way, since systemd answers a connection's calls in order: it
// cancels the start job or stops the unit. Only then does DONE see the error.
void SystemdClient::stopUnanswered(const std::string& unit, SystemdError error, Queued done)
{
    log::warning("systemd did not answer the start of " + unit + " in time; stopping it", {{"UNIT", unit}});
    stopUnit(unit, [this, unit, error = std::move(error), done = std::move(done)](const SystemdError* stopError,
                                                                                  const std::string& job) {
        if (stopError == nullptr)
        {
            whenJobRemoved(job, [error, done](const std::string&) { done(&error, {}); });
        }
        else if (stopError->name == noReplyError)
        {
            stopUnanswered(unit, error, done); // still unknown: ask again
        }
        else
        {
            done(&error, {}); // no such unit: the start never made one
        }
    });
}

void SystemdClient::refUnit(const std::string& unit, Done done)
{
    callManager("RefUnit", std::move(done), unit);
}

void SystemdClient::unrefUnit(const std::string& unit)
{
    callManager(
        "UnrefUnit",
        [unit](const SystemdError* error) {
            // The unit may already be gone; nothing is lost then.
            if (error != nullptr && error->name != noSuchUnitError)
            {
                log::warning("Cannot drop our reference on " + unit, {{"UNIT", unit}, {"ERROR", error->message}});
            }
        },
        unit);
}

void SystemdClient::setUnitProperties(const std::string& unit, const std::vector<UnitProperty>& properties, Done done)
{
    // runtime=true: the values live under /run and vanish with the instance.
    callManager("SetUnitProperties", std::move(done), unit, true, toVariants(properties));
}

void SystemdClient::startUnit(const std::string& unit, Queued done)
{
    callManagerToStart("StartUnit", unit, std::move(done), std::string("replace"));
}

void SystemdClient::startTransientUnit(const std::string& unit, const std::vector<UnitProperty>& properties,
                                       Queued done)
{
    std::vector<sdbus::Struct<std::string, std::vector<sdbus::Struct<std::string, sdbus::Variant>>>> aux;
    callManagerToStart("StartTransientUnit", unit, std::move(done), std::string("fail"), toVariants(properties), aux);
}

void SystemdClient::startUnitFailing(const std::string& unit, Queued done)
{
    callManagerToStart("StartUnit", unit, std::move(done), std::string("fail"));
}

void SystemdClient::stopUnit(const std::string& unit, Queued done)
{
    callManagerForJob("StopUnit", std::move(done), unit, std::string("replace"));
}

void SystemdClient::resetFailedUnit(const std::string& unit)
{
    // Nothing to reset is the common case; any other failure only leaves a
    // failed unit listed, which an admin can see.
    callManager(
        "ResetFailedUnit", [](const SystemdError*) {}, unit);
}

void SystemdClient::reload(Done done)
{
    callManager("Reload", std::move(done));
}

void SystemdClient::enableUnitFile(const std::string& unit, Done done)
{
    using Changes = std::vector<sdbus::Struct<std::string, std::string, std::string>>;
    // force=true: a symlink of an earlier install is replaced, not an error.
    call<bool, Changes>(manager_, managerInterface, "EnableUnitFiles",
                        std::function<void(const SystemdError*, bool, Changes)>(
                            [done = std::move(done)](const SystemdError* error, bool, const Changes&) { done(error); }),
                        std::vector<std::string>{unit}, false, true);
}

void SystemdClient::enableUnitFiles(const std::vector<std::string>& units, bool runtime,
                                    std::function<void(const SystemdError*, std::vector<UnitFileChange>)> done)
{
    using Changes = std::vector<sdbus::Struct<std::string, std::string, std::string>>;
    call<bool, Changes>(manager_, managerInterface, "EnableUnitFiles",
                        std::function<void(const SystemdError*, bool, Changes)>(
                            [done = std::move(done)](const SystemdError* error, bool, const Changes& changes) {
                                std::vector<UnitFileChange> plain;
                                for (const auto& change : changes)
                                {
                                    plain.push_back({change.get<0>(), change.get<1>(), change.get<2>()});
                                }
                                done(error, std::move(plain));
                            }),
                        units, runtime, false);
}

void SystemdClient::restartUnit(const std::string& unit, Queued done)
{
    callManagerForJob("RestartUnit", std::move(done), unit, std::string("replace"));
}

void SystemdClient::unitFacts(const std::string& unit, std::function<void(const SystemdError*, UnitFacts)> done)
{
    using Properties = std::map<std::string, sdbus::Variant>;
    auto getAll = [this](const std::string& path, const char* interface,
                         std::function<void(const SystemdError*, Properties)> then) {
        call<Properties>(proxyAt(path), propertiesInterface, "GetAll", std::move(then), std::string(interface));
    };
    // LoadUnit first: GetAll on a unit's path loads it too, but answers
    // UnknownObject for a name systemd cannot load at all.
    call<sdbus::ObjectPath>(
        manager_, managerInterface, "LoadUnit",
        std::function<void(const SystemdError*, sdbus::ObjectPath)>(
            [unit, getAll, done = std::move(done)](const SystemdError* error, const sdbus::ObjectPath& path) {
                if (error != nullptr)
                {
                    return done(error, {});
                }
                getAll(path, "org.freedesktop.systemd1.Unit",
                       [unit, path, getAll, done](const SystemdError* error, const Properties& props) {
                           if (error != nullptr)
                           {
                               return done(error, {});
                           }
                           using Reason = sdbus::Struct<std::string, std::string>; // (error name, message)
                           UnitFacts facts;
                           facts.id = variantOr<std::string>(props, "Id", "");
                           facts.loadState = variantOr<std::string>(props, "LoadState", "");
                           facts.loadError = variantOr(props, "LoadError", Reason{}).get<1>();
                           facts.activeState = variantOr<std::string>(props, "ActiveState", "");
                           facts.fragmentPath = variantOr<std::string>(props, "FragmentPath", "");
                           facts.unitFileState = variantOr<std::string>(props, "UnitFileState", "");
                           for (const char* name :
                                {"Requires", "Requisite", "Wants", "BindsTo", "PartOf", "Upholds", "OnFailure",
                                 "OnSuccess", "PropagatesReloadTo", "ReloadPropagatedFrom", "Conflicts",
                                 "JoinsNamespaceOf", "Triggers"})
                           {
                               facts.dependencies[name] = variantOr<std::vector<std::string>>(props, name, {});
                           }
                           if (unit.size() < 8 || unit.compare(unit.size() - 8, 8, ".service") != 0 ||
                               facts.loadState != "loaded")
                           {
                               return done(nullptr, std::move(facts));
                           }
                           getAll(path, "org.freedesktop.systemd1.Service",
                                  [facts, done](const SystemdError* error, const Properties& service) mutable {
                                      if (error != nullptr)
                                      {
                                          return done(error, {});
                                      }
                                      readServiceFacts(service, facts);
                                      done(nullptr, std::move(facts));
                                  });
                       });
            }),
        unit);
}

void SystemdClient::disableUnitFile(const std::string& unit, Done done)
{
    using Changes = std::vector<sdbus::Struct<std::string, std::string, std::string>>;
    call<Changes>(manager_, managerInterface, "DisableUnitFiles",
                  std::function<void(const SystemdError*, Changes)>(
                      [done = std::move(done)](const SystemdError* error, const Changes&) { done(error); }),
                  std::vector<std::string>{unit}, false);
}

void SystemdClient::unitFileLinks(const std::string& unit,
                                  std::function<void(const SystemdError*, std::vector<std::string>)> done)
{
    call<std::vector<std::string>>(manager_, managerInterface, "GetUnitFileLinks", std::move(done), unit, false);
}

std::shared_ptr<sdbus::IProxy> SystemdClient::proxyAt(const std::string& path)
{
    // A proxy per call is cheap (no bus traffic); call() keeps it alive
    // until the reply arrives.
    std::shared_ptr<sdbus::IProxy> proxy = sdbus::createProxy(bus_, service, path);
    proxy->finishRegistration();
    return proxy;
}

void SystemdClient::serviceProperties(
    const std::string& unit,
    std::function<void(const SystemdError*, const std::map<std::string, sdbus::Variant>&)> done)
{
    using Properties = std::map<std::string, sdbus::Variant>;
    call<Properties>(
        proxyAt(unit::objectPath(unit)), propertiesInterface, "GetAll",
        std::function<void(const SystemdError*, Properties)>(
            [done = std::move(done)](const SystemdError* error, const Properties& props) { done(error, props); }),
        std::string("org.freedesktop.systemd1.Service"));
}

void SystemdClient::serviceOutcome(const std::string& unit,
                                   std::function<void(const SystemdError*, ServiceOutcome)> done)
{
    serviceProperties(unit, [done = std::move(done)](const SystemdError* error, const auto& props) {
        ServiceOutcome outcome;
        if (error == nullptr)
        {
            outcome.result = variantOr<std::string>(props, "Result", "");
            outcome.execMainCode = variantOr<int32_t>(props, "ExecMainCode", 0);
            outcome.execMainStatus = variantOr<int32_t>(props, "ExecMainStatus", 0);
            outcome.execMainStartUsec = variantOr<uint64_t>(props, "ExecMainStartTimestamp", 0);
        }
        done(error, outcome);
    });
}

void SystemdClient::serviceUser(const std::string& unit, std::function<void(const SystemdError*, ServiceUser)> done)
{
    serviceProperties(unit, [done = std::move(done)](const SystemdError* error, const auto& props) {
        ServiceUser user;
        if (error == nullptr)
        {
            user.uid = variantOr<uint32_t>(props, "UID", ServiceUser::none);
            user.gid = variantOr<uint32_t>(props, "GID", ServiceUser::none);
        }
        done(error, user);
    });
}

void SystemdClient::addressAllow(const std::string& unit,
                                 std::function<void(const SystemdError*, std::vector<net::IpPrefix>)> done)
{
    call<sdbus::Variant>(proxyAt(unit::objectPath(unit)), propertiesInterface, "Get",
                         std::function<void(const SystemdError*, sdbus::Variant)>(
                             [done = std::move(done)](const SystemdError* error, const sdbus::Variant& value) {
                                 std::vector<net::IpPrefix> prefixes;
                                 if (error == nullptr)
                                 {
                                     for (const auto& entry : value.get<AddressStructs>())
                                     {
                                         net::IpPrefix prefix;
                                         prefix.family = entry.get<0>();
                                         const auto& bytes = entry.get<1>();
                                         std::copy_n(bytes.begin(), std::min(bytes.size(), prefix.bytes.size()),
                                                     prefix.bytes.begin());
                                         prefix.length = entry.get<2>();
                                         prefixes.push_back(prefix.normalized());
                                     }
                                 }
                                 done(error, std::move(prefixes));
                             }),
                         std::string("org.freedesktop.systemd1.Service"), std::string("IPAddressAllow"));
}

void SystemdClient::activeState(const std::string& unit, std::function<void(const SystemdError*, std::string)> done)
{
    activeStateAt(unit::objectPath(unit), std::move(done));
}

void SystemdClient::activeStateAt(const std::string& path, std::function<void(const SystemdError*, std::string)> done)
{
    call<sdbus::Variant>(proxyAt(path), propertiesInterface, "Get",
                         std::function<void(const SystemdError*, sdbus::Variant)>(
                             [done = std::move(done)](const SystemdError* error, const sdbus::Variant& value) {
                                 done(error, error == nullptr ? value.get<std::string>() : std::string());
                             }),
                         std::string("org.freedesktop.systemd1.Unit"), std::string("ActiveState"));
}

Subscription SystemdClient::watchActiveState(const std::string& unit, std::function<void(std::string)> onChange)
{
    needUnitChanges();
    auto path = unit::objectPath(unit);
    auto id = nextWatch_++;
    stateWatches_[path][id] = std::move(onChange);
    return Subscription([this, path, id] {
        auto watches = stateWatches_.find(path);
        if (watches != stateWatches_.end() && watches->second.erase(id) != 0 && watches->second.empty())
        {
            stateWatches_.erase(watches);
        }
        if (stateWatches_.empty())
        {
            dropUnitChangesLater();
        }
    });
}

bool SystemdClient::fromSystemd(const sdbus::Message& message, const char* what) const
{
    if (systemd_.sent(message))
    {
        return true;
    }
    // Anyone on the bus can address a signal to us; never act on it. Only
    // at debug level: a forger could otherwise flood the journal.
    log::debug(std::string("Ignoring a ") + what + " signal from " + message.getSender() + ", which is not systemd (" +
                   (systemd_.owner().empty() ? "not on the bus" : systemd_.owner()) + ")",
               {{"LEFT4ME_SIGNAL_SENDER", message.getSender()}});
    return false;
}

void SystemdClient::onUnitChanged(sdbus::Message& message)
{
    if (!fromSystemd(message, "PropertiesChanged"))
    {
        return;
    }
    auto path = message.getPath();
    auto watches = stateWatches_.find(path);
    if (watches == stateWatches_.end())
    {
        return; // a unit nobody here watches: not even parsed
    }
    std::string interface;
    std::map<std::string, sdbus::Variant> changed;
    try
    {
        message >> interface >> changed;
    }
    catch (const sdbus::Error& e)
    {
        log::warning("Ignoring a malformed PropertiesChanged signal from systemd", {{"ERROR", e.getMessage()}});
        return;
    }
    auto state = variantOr<std::string>(changed, "ActiveState", "");
    if (!state.empty())
    {
        notifyWatches(path, state);
    }
}

void SystemdClient::notifyWatches(const std::string& path, const std::string& state)
{
    auto watches = stateWatches_.find(path);
    if (watches == stateWatches_.end())
    {
        return;
    }
    std::vector<uint64_t> ids;
    for (const auto& [id, watch] : watches->second)
    {
        ids.push_back(id);
    }
    // A callback may end its own watch or another one: look each up anew,
    // and call a copy.
    for (auto id : ids)
    {
        auto now = stateWatches_.find(path);
        if (now == stateWatches_.end())
        {
            return;
        }
        if (auto watch = now->second.find(id); watch != now->second.end())
        {
            auto onChange = watch->second;
            onChange(state);
        }
    }
}

} // namespace left4me
