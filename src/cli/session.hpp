#pragma once

// One connection to the system bus for one command (this host's, another
// host's or a container's: transport.hpp): the manager object through the
// generated proxy (calls marked interactive unless --no-ask-password or not
// local), the polkit agent while the command runs, and the GLib main loop
// that commands following a job run on.
#include "builder_proxy.h"
#include "cli/polkit_agent.hpp"
#include "cli/transport.hpp"
#include "loop/bus_source.hpp"
#include "util/gobject_ptr.hpp"

#include <glib.h>
#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <memory>
#include <string>

namespace left4me::cli {

using PropertyMap = std::map<std::string, sdbus::Variant>;
// GetManagedObjects: object path -> interface -> properties.
using ManagedObjects = std::map<sdbus::ObjectPath, std::map<std::string, PropertyMap>>;
// One object's path and the properties of one of its interfaces.
using ObjectProperties = std::pair<std::string, PropertyMap>;

class ManagerProxy final : public org::left4me::Builder_proxy, public sdbus::ObjectManager_proxy
{
  public:
    explicit ManagerProxy(sdbus::IProxy& proxy) : Builder_proxy(proxy), ObjectManager_proxy(proxy) {}
    ManagerProxy(const ManagerProxy&) = delete;
    ManagerProxy& operator=(const ManagerProxy&) = delete;
    ~ManagerProxy() = default;

  private:
    void onInterfacesAdded(const sdbus::ObjectPath&, const std::map<std::string, PropertyMap>&) override {}
    void onInterfacesRemoved(const sdbus::ObjectPath&, const std::vector<std::string>&) override {}
};

class Session
{
  public:
    // Connects through TRANSPORT; ASK_PASSWORD, for a local transport only,
    // starts pkttyagent on a terminal and marks calls interactive.
    Session(const Transport& transport, bool askPassword);
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session();

    sdbus::IConnection& bus() { return *bus_; }
    ManagerProxy& manager() { return *manager_; }
    // The loop commands that follow a job run; it also drives the bus.
    GMainLoop* loop() { return loop_.get(); }

    // All properties of one interface of one object of the service; throws
    // sdbus::Error (UnknownObject for a job that does not exist).
    PropertyMap properties(const std::string& path, const std::string& interface);
    // Every object of the service that has INTERFACE (GetManagedObjects),
    // with that interface's properties, in path order.
    std::vector<ObjectProperties> objectsWith(const std::string& interface);

  private:
    std::unique_ptr<sdbus::IConnection> bus_;
    GMainLoopPtr loop_;
    BusSource source_;
    PolkitAgent agent_;
    std::unique_ptr<sdbus::IProxy> proxy_;
    std::unique_ptr<ManagerProxy> manager_;
};

} // namespace left4me::cli
