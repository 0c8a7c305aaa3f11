#include "util/name_owner.hpp"

namespace left4me {

namespace {

constexpr const char* busDriver = "org.freedesktop.DBus";

} // namespace

bool sentByBusDriver(const sdbus::Message& message)
{
    return message.getSender() == busDriver;
}

NameOwner::NameOwner(sdbus::IConnection& bus, std::string name, Changed changed)
    : name_(std::move(name)), changed_(std::move(changed))
{
    match_ = bus.addMatch("type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                          "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" +
                              name_ + "'",
                          [this](sdbus::Message& message) { onOwnerChanged(message); });
    auto driver = sdbus::createProxy(bus, busDriver, "/org/freedesktop/DBus");
    try
    {
        driver->callMethod("GetNameOwner").onInterface(busDriver).withArguments(name_).storeResultsTo(owner_);
    }
    catch (const sdbus::Error& e)
    {
        if (e.getName() != "org.freedesktop.DBus.Error.NameHasNoOwner")
        {
            throw;
        }
        owner_.clear(); // not running now: its NameOwnerChanged will say when it is
    }
}

bool NameOwner::sent(const sdbus::Message& message) const
{
    return !owner_.empty() && message.getSender() == owner_;
}

void NameOwner::onOwnerChanged(sdbus::Message& message)
{
    std::string name;
    std::string oldOwner;
    std::string newOwner;
    try
    {
        message >> name >> oldOwner >> newOwner;
    }
    catch (const sdbus::Error&)
    {
        return;
    }
    // The same loose matching applies to the bus driver's well-known name.
    if (!sentByBusDriver(message) || name != name_)
    {
        return;
    }
    owner_ = newOwner;
    if (changed_)
    {
        changed_(oldOwner, newOwner);
    }
}

} // namespace left4me
