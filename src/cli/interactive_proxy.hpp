#pragma once

// An sdbus::IProxy that forwards to a real proxy and marks every method call
// with ALLOW_INTERACTIVE_AUTHORIZATION, so that the generated proxy classes
// can be used unchanged while polkit may ask the user for a password (through
// the pkttyagent we start). Such calls wait as long as the person and the
// daemon do, not the connection's 120 s (the clients' timeout policy).
#include <sdbus-c++/IProxy.h>

#include <memory>

namespace left4me::cli {

class InteractiveProxy final : public sdbus::IProxy
{
  public:
    InteractiveProxy(std::unique_ptr<sdbus::IProxy> inner, bool interactive);

    sdbus::MethodCall createMethodCall(const std::string& interfaceName, const std::string& methodName) override;
    sdbus::MethodReply callMethod(const sdbus::MethodCall& message, uint64_t timeout) override;
    sdbus::PendingAsyncCall callMethod(const sdbus::MethodCall& message, sdbus::async_reply_handler callback,
                                       uint64_t timeout) override;
    void registerSignalHandler(const std::string& interfaceName, const std::string& signalName,
                               sdbus::signal_handler handler) override;
    void unregisterSignalHandler(const std::string& interfaceName, const std::string& signalName) override;
    void finishRegistration() override;
    void unregister() override;
    [[nodiscard]] sdbus::IConnection& getConnection() const override;
    [[nodiscard]] const std::string& getObjectPath() const override;
    [[nodiscard]] const sdbus::Message* getCurrentlyProcessedMessage() const override;

  private:
    [[nodiscard]] uint64_t timeoutFor(uint64_t requested) const;

    std::unique_ptr<sdbus::IProxy> inner_;
    bool interactive_;
};

} // namespace left4me::cli
