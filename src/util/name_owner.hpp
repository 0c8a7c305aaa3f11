#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <string>

namespace left4me {

// Which unique name owns a well-known bus name, followed through the bus
// driver's NameOwnerChanged, so that a signal claiming to come from that
// name can be checked before anyone acts on it.
//
// Why a match on sender='NAME' is not enough: dbus-daemon applies it to
// broadcast signals only, and sd-bus matches a well-known sender name
// loosely on its side (it cannot resolve names locally). Any local process
// may send a signal *addressed* to our connection (a unicast signal), with
// any path, interface and member it likes, and sd-bus hands it to the slot.
// Only the message's sender, a unique name stamped by dbus-daemon, tells
// the real owner from a forger. GLib checks the same since CVE-2024-34397.
class NameOwner
{
  public:
    using Changed = std::function<void(const std::string& oldOwner, const std::string& newOwner)>;

    // Watches NAME and asks the bus for its owner now (a synchronous
    // GetNameOwner, after the watch is in place so that no change is
    // missed). CHANGED, if given, runs after each change the bus announces.
    // Throws sdbus::Error if the bus refuses the match.
    NameOwner(sdbus::IConnection& bus, std::string name, Changed changed = {});
    NameOwner(const NameOwner&) = delete;
    NameOwner& operator=(const NameOwner&) = delete;
    NameOwner(NameOwner&&) = delete;
    NameOwner& operator=(NameOwner&&) = delete;
    ~NameOwner() = default;

    // The owner's unique name; empty while nobody owns the name.
    [[nodiscard]] const std::string& owner() const { return owner_; }
    // True only for a message whose sender is the current owner.
    [[nodiscard]] bool sent(const sdbus::Message& message) const;

  private:
    void onOwnerChanged(sdbus::Message& message);

    std::string name_;
    Changed changed_;
    std::string owner_;
    sdbus::Slot match_;
};

// True for a message the bus driver itself sent: dbus-daemon stamps
// "org.freedesktop.DBus" on its own messages only, never on a client's.
bool sentByBusDriver(const sdbus::Message& message);

} // namespace left4me
