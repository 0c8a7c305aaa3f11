#include "cli/session.hpp"

#include "bus/names.hpp"
#include "cli/exit_status.hpp"
#include "cli/i18n.hpp"
#include "cli/interactive_proxy.hpp"

#include <cstdio>
#include <cstdlib>

namespace left4me::cli {

namespace {

std::unique_ptr<sdbus::IConnection> connectSystemBus()
{
    try
    {
        return sdbus::createSystemBusConnection();
    }
    catch (const sdbus::Error& e)
    {
        throw sdbus::Error(e.getName(), "cannot connect to the system bus: " + e.getMessage());
    }
}

} // namespace

Session::Session(bool askPassword)
    : bus_(connectSystemBus()), loop_(g_main_loop_new(nullptr, FALSE)), source_(*bus_, [] {
          // Mid-command, with nothing left to wait on: say so and fail.
          std::fputs(_("left4me-builderctl: lost the connection to the system bus\n"), stderr);
          std::exit(exit_code::failure);
      })
{
    bool interactive = false;
    if (askPassword)
    {
        agent_ = PolkitAgent::startIfTerminal();
        interactive = agent_.running();
    }
    proxy_ =
        std::make_unique<InteractiveProxy>(sdbus::createProxy(*bus_, names::busName, names::managerPath), interactive);
    manager_ = std::make_unique<ManagerProxy>(*proxy_);
}

Session::~Session()
{
    g_main_loop_unref(loop_);
}

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
