#include "cli/interactive_proxy.hpp"

#include "util/sd_bus_message.hpp"

#include <cstdint>

namespace left4me::cli {

InteractiveProxy::InteractiveProxy(std::unique_ptr<sdbus::IProxy> inner, bool interactive)
    : inner_(std::move(inner)), interactive_(interactive)
{
}

sdbus::MethodCall InteractiveProxy::createMethodCall(const std::string& interfaceName, const std::string& methodName)
{
    auto call = inner_->createMethodCall(interfaceName, methodName);
    if (interactive_)
    {
        sd_bus_message_set_allow_interactive_authorization(MessageAccess::raw(call), 1);
    }
    return call;
}

uint64_t InteractiveProxy::timeoutFor(uint64_t requested) const
{
    // A person is typing a password: wait as long as they and the daemon
    // (polkit_interactive_timeout_sec) do; Ctrl-C still ends the command.
    // Every other call keeps the connection's 120 s (session.cpp).
    return interactive_ && requested == 0 ? UINT64_MAX : requested;
}

sdbus::MethodReply InteractiveProxy::callMethod(const sdbus::MethodCall& message, uint64_t timeout)
{
    return inner_->callMethod(message, timeoutFor(timeout));
}

sdbus::PendingAsyncCall InteractiveProxy::callMethod(const sdbus::MethodCall& message,
                                                     sdbus::async_reply_handler callback, uint64_t timeout)
{
    return inner_->callMethod(message, std::move(callback), timeoutFor(timeout));
}

void InteractiveProxy::registerSignalHandler(const std::string& interfaceName, const std::string& signalName,
                                             sdbus::signal_handler handler)
{
    inner_->registerSignalHandler(interfaceName, signalName, std::move(handler));
}

void InteractiveProxy::unregisterSignalHandler(const std::string& interfaceName, const std::string& signalName)
{
    inner_->unregisterSignalHandler(interfaceName, signalName);
}

void InteractiveProxy::finishRegistration()
{
    inner_->finishRegistration();
}

void InteractiveProxy::unregister()
{
    inner_->unregister();
}

sdbus::IConnection& InteractiveProxy::getConnection() const
{
    return inner_->getConnection();
}

const std::string& InteractiveProxy::getObjectPath() const
{
    return inner_->getObjectPath();
}

const sdbus::Message* InteractiveProxy::getCurrentlyProcessedMessage() const
{
    return inner_->getCurrentlyProcessedMessage();
}

} // namespace left4me::cli
