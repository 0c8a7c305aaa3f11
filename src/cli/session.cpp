#include "cli/session.hpp"

#include "bus/names.hpp"
#include "cli/exit_status.hpp"
#include "cli/i18n.hpp"
#include "cli/interactive_proxy.hpp"

#include <cstdio>
#include <cstdlib>

namespace left4me::cli {

namespace {

// The clients' one timeout policy (left4me-builderctl(1), TIMEOUTS; the Python client's
// CALL_TIMEOUT_MS): a call may legitimately take polkit's polkit_timeout_sec
// (20 s) and then systemd's time for the work (a Mount waits for its unit's
// start job), more than sd-bus's default of 25 s; 120 s covers both. A call
// that lets polkit ask a person has no limit of ours (interactive_proxy.cpp).
constexpr uint64_t callTimeoutUsec = 120ULL * 1000 * 1000;

std::unique_ptr<sdbus::IConnection> connect(const Transport& transport)
{
    try
    {
        switch (transport.kind)
        {
        case Transport::Kind::remote:
            return sdbus::createRemoteSystemBusConnection(transport.target);
        case Transport::Kind::machine:
            // sdbus-c++ 1.2 has no machine connection and cannot adopt an
            // sd_bus; this opens the machine's address as
            // sd_bus_open_system_machine() does (sd_bus_new, the address, a
            // bus client, started). "Session" is only the function's name.
            return sdbus::createSessionBusConnectionWithAddress(machineBusAddress(transport.target));
        case Transport::Kind::local:
            break;
        }
        return sdbus::createSystemBusConnection();
    }
    catch (const sdbus::Error& e)
    {
        std::string where = transport.local() ? std::string("the system bus") : "the system bus of " + transport.target;
        throw sdbus::Error(e.getName(), "cannot connect to " + where + ": " + e.getMessage());
    }
}

std::unique_ptr<sdbus::IConnection> connectWithTimeout(const Transport& transport)
{
    auto bus = connect(transport);
    bus->setMethodCallTimeout(callTimeoutUsec);
    return bus;
}

} // namespace

Session::Session(const Transport& transport, bool askPassword)
    : bus_(connectWithTimeout(transport)), loop_(g_main_loop_new(nullptr, FALSE)), source_(*bus_, [] {
          // Mid-command, with nothing left to wait on: say so and fail.
          std::fputs(_("left4me-builderctl: lost the connection to the system bus\n"), stderr);
          std::exit(exit_code::failure);
      })
{
    bool interactive = false;
    // As systemctl: no agent, and no prompt to wait for, unless local.
    if (askPassword && transport.local())
    {
        agent_ = PolkitAgent::startIfTerminal();
        interactive = agent_.running();
    }
    proxy_ =
        std::make_unique<InteractiveProxy>(sdbus::createProxy(*bus_, names::busName, names::managerPath), interactive);
    manager_ = std::make_unique<ManagerProxy>(*proxy_);
}

Session::~Session() = default;

std::vector<ObjectProperties> Session::objectsWith(const std::string& interface)
{
    std::vector<ObjectProperties> found;
    for (const auto& [path, interfaces] : manager_->GetManagedObjects())
    {
        if (auto it = interfaces.find(interface); it != interfaces.end())
        {
            found.emplace_back(path, it->second);
        }
    }
    return found;
}

PropertyMap Session::properties(const std::string& path, const std::string& interface)
{
    auto proxy = sdbus::createProxy(*bus_, names::busName, path);
    PropertyMap result;
    proxy->callMethod("GetAll")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments(interface)
        .storeResultsTo(result);
    return result;
}

} // namespace left4me::cli
