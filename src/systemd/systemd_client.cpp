#include "systemd/systemd_client.hpp"

#include "systemd/unit_names.hpp"
#include "util/log.hpp"
#include "util/variant_map.hpp"

namespace left4me {

namespace {

constexpr const char* service = "org.freedesktop.systemd1";
constexpr const char* managerPath = "/org/freedesktop/systemd1";
constexpr const char* managerInterface = "org.freedesktop.systemd1.Manager";
constexpr const char* propertiesInterface = "org.freedesktop.DBus.Properties";

sdbus::Variant toVariant(const UnitProperty& property)
{
    return std::visit(
        [](const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, EmptyAddressList>)
            {
                return sdbus::Variant(std::vector<sdbus::Struct<int32_t, std::vector<uint8_t>, uint32_t>>{});
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

} // namespace

SystemdClient::SystemdClient(sdbus::IConnection& bus)
    : bus_(bus), manager_(sdbus::createProxy(bus, service, managerPath))
{
    manager_->uponSignal("JobRemoved")
        .onInterface(managerInterface)
        .call([this](uint32_t, const sdbus::ObjectPath& job, const std::string&, const std::string& result) {
            onJobRemoved(job, result);
        });
    manager_->finishRegistration();
}

void SystemdClient::onJobRemoved(const std::string& jobPath, const std::string& result)
{
    auto waiter = jobWaiters_.find(jobPath);
    if (waiter == jobWaiters_.end())
    {
        constexpr std::size_t remembered = 256;
        if (removedJobs_.size() >= remembered)
        {
            removedJobs_.erase(removedJobs_.begin());
        }
        removedJobs_[jobPath] = result;
        return;
    }
    auto done = std::move(waiter->second);
    jobWaiters_.erase(waiter);
    done(result);
}

void SystemdClient::whenJobRemoved(const std::string& jobPath, std::function<void(std::string)> done)
{
    auto removed = removedJobs_.find(jobPath);
    if (removed != removedJobs_.end())
    {
        auto result = removed->second;
        removedJobs_.erase(removed);
        done(result);
        return;
    }
    jobWaiters_[jobPath] = std::move(done);
}

void SystemdClient::subscribe()
{
    manager_->callMethodAsync("Subscribe").onInterface(managerInterface).uponReplyInvoke([](const sdbus::Error* error) {
        if (error != nullptr)
        {
            log::error("Cannot subscribe to systemd's signals; build results will not be seen",
                       {{"ERROR", error->getMessage()}});
        }
    });
}

template <typename... Args> void SystemdClient::callManager(const char* method, Done done, const Args&... args)
{
    manager_->callMethodAsync(method)
        .onInterface(managerInterface)
        .withArguments(args...)
        .uponReplyInvoke([done = std::move(done)](const sdbus::Error* error) { done(error); });
}

template <typename... Args>
void SystemdClient::callManagerForJob(const char* method, std::function<void(const sdbus::Error*, std::string)> done,
                                      const Args&... args)
{
    manager_->callMethodAsync(method)
        .onInterface(managerInterface)
        .withArguments(args...)
        .uponReplyInvoke(
            [done = std::move(done)](const sdbus::Error* error, const sdbus::ObjectPath& job) { done(error, job); });
}

void SystemdClient::refUnit(const std::string& unit, Done done)
{
    callManager("RefUnit", std::move(done), unit);
}

void SystemdClient::unrefUnit(const std::string& unit)
{
    callManager(
        "UnrefUnit",
        [unit](const sdbus::Error* error) {
            // The unit may already be gone; nothing is lost then.
            if (error != nullptr && error->getName() != "org.freedesktop.systemd1.NoSuchUnit")
            {
                log::warning("Cannot drop our reference on " + unit, {{"UNIT", unit}, {"ERROR", error->getMessage()}});
            }
        },
        unit);
}

void SystemdClient::setUnitProperties(const std::string& unit, const std::vector<UnitProperty>& properties, Done done)
{
    // runtime=true: the values live under /run and vanish with the instance.
    callManager("SetUnitProperties", std::move(done), unit, true, toVariants(properties));
}

void SystemdClient::startUnit(const std::string& unit, std::function<void(const sdbus::Error*, std::string)> done)
{
    callManagerForJob("StartUnit", std::move(done), unit, std::string("replace"));
}

void SystemdClient::stopUnit(const std::string& unit, Done done)
{
    callManagerForJob(
        "StopUnit", [done = std::move(done)](const sdbus::Error* error, const std::string&) { done(error); }, unit,
        std::string("replace"));
}

void SystemdClient::startTransientUnit(const std::string& unit, const std::vector<UnitProperty>& properties,
                                       std::function<void(const sdbus::Error*, std::string)> done)
{
    std::vector<sdbus::Struct<std::string, std::vector<sdbus::Struct<std::string, sdbus::Variant>>>> aux;
    callManagerForJob("StartTransientUnit", std::move(done), unit, std::string("fail"), toVariants(properties), aux);
}

void SystemdClient::startUnitFailing(const std::string& unit,
                                     std::function<void(const sdbus::Error*, std::string)> done)
{
    callManagerForJob("StartUnit", std::move(done), unit, std::string("fail"));
}

void SystemdClient::stopUnitJob(const std::string& unit, std::function<void(const sdbus::Error*, std::string)> done)
{
    callManagerForJob("StopUnit", std::move(done), unit, std::string("replace"));
}

void SystemdClient::resetFailedUnit(const std::string& unit)
{
    // Nothing to reset is the common case; any other failure only leaves a
    // failed unit listed, which an admin can see.
    callManager(
        "ResetFailedUnit", [](const sdbus::Error*) {}, unit);
}

void SystemdClient::reload(Done done)
{
    callManager("Reload", std::move(done));
}

void SystemdClient::enableUnitFile(const std::string& unit, Done done)
{
    manager_->callMethodAsync("EnableUnitFiles")
        .onInterface(managerInterface)
        .withArguments(std::vector<std::string>{unit}, false, true)
        .uponReplyInvoke(
            [done = std::move(done)](const sdbus::Error* error, bool,
                                     const std::vector<sdbus::Struct<std::string, std::string, std::string>>&) {
                done(error);
            });
}

void SystemdClient::disableUnitFile(const std::string& unit, Done done)
{
    manager_->callMethodAsync("DisableUnitFiles")
        .onInterface(managerInterface)
        .withArguments(std::vector<std::string>{unit}, false)
        .uponReplyInvoke(
            [done = std::move(done)](const sdbus::Error* error,
                                     const std::vector<sdbus::Struct<std::string, std::string, std::string>>&) {
                done(error);
            });
}

void SystemdClient::serviceOutcome(const std::string& unit,
                                   std::function<void(const sdbus::Error*, ServiceOutcome)> done)
{
    // A proxy per call is cheap (no bus traffic) and is kept alive by the
    // callback until the reply arrives.
    std::shared_ptr<sdbus::IProxy> proxy = sdbus::createProxy(bus_, service, unit::objectPath(unit));
    proxy->finishRegistration();
    proxy->callMethodAsync("GetAll")
        .onInterface(propertiesInterface)
        .withArguments(std::string("org.freedesktop.systemd1.Service"))
        .uponReplyInvoke([proxy, done = std::move(done)](const sdbus::Error* error,
                                                         const std::map<std::string, sdbus::Variant>& props) {
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

void SystemdClient::activeState(const std::string& unit, std::function<void(const sdbus::Error*, std::string)> done)
{
    std::shared_ptr<sdbus::IProxy> proxy = sdbus::createProxy(bus_, service, unit::objectPath(unit));
    proxy->finishRegistration();
    proxy->callMethodAsync("Get")
        .onInterface(propertiesInterface)
        .withArguments(std::string("org.freedesktop.systemd1.Unit"), std::string("ActiveState"))
        .uponReplyInvoke([proxy, done = std::move(done)](const sdbus::Error* error, const sdbus::Variant& value) {
            std::string state;
            if (error == nullptr)
            {
                state = value.get<std::string>();
            }
            done(error, state);
        });
}

sdbus::Slot SystemdClient::watchActiveState(const std::string& unit, std::function<void(std::string)> onChange)
{
    auto rule = "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.DBus.Properties',"
                "member='PropertiesChanged',path='" +
                unit::objectPath(unit) + "',arg0='org.freedesktop.systemd1.Unit'";
    return bus_.addMatch(rule, [onChange = std::move(onChange)](sdbus::Message& message) {
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
            onChange(state);
        }
    });
}

} // namespace left4me
