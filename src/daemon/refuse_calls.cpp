#include "daemon/refuse_calls.hpp"

#include "bus/names.hpp"

#include <systemd/sd-bus.h>

#include <cstdint>
#include <memory>

namespace left4me {

namespace {

struct Refusal
{
    const char* errorName;
    const std::string* message;
};

// A filter sees each message before sd-bus looks for an object, so every
// method call gets the error, whatever its path or interface.
int refuse(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/)
{
    uint8_t type = 0;
    if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
    {
        return 0;
    }
    const auto* refusal = static_cast<const Refusal*>(userdata);
    (void)sd_bus_reply_method_errorf(m, refusal->errorName, "%s", refusal->message->c_str());
    return 1;
}

} // namespace

void refuseCalls(const char* errorName, const std::string& message)
{
    sd_bus* raw = nullptr;
    if (sd_bus_open_system(&raw) < 0)
    {
        return;
    }
    // Flushed on the way out, so that the last replies leave before we do.
    std::unique_ptr<sd_bus, decltype(&sd_bus_flush_close_unref)> bus(raw, &sd_bus_flush_close_unref);
    Refusal refusal{errorName, &message};
    if (sd_bus_add_filter(bus.get(), nullptr, &refuse, &refusal) < 0 ||
        sd_bus_request_name(bus.get(), names::busName, 0) < 0)
    {
        return;
    }
    constexpr uint64_t quietUsec = 200000;
    for (;;)
    {
        int r = sd_bus_process(bus.get(), nullptr);
        if (r > 0)
        {
            continue;
        }
        if (r < 0 || sd_bus_wait(bus.get(), quietUsec) <= 0)
        {
            break;
        }
    }
    (void)sd_bus_release_name(bus.get(), names::busName);
}

} // namespace left4me
