#pragma once

// A broken promise is a crash: libFuzzer keeps the input that made it.
#include <glib.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(condition)                                                                                          \
    do                                                                                                                 \
    {                                                                                                                  \
        if (!(condition))                                                                                              \
        {                                                                                                              \
            std::fprintf(stderr, "%s:%d: promise broken: %s\n", __FILE__, __LINE__, #condition);                       \
            std::abort();                                                                                              \
        }                                                                                                              \
    } while (false)

// An error message the daemon would send about INPUT. D-Bus delivers only
// valid UTF-8, and for such input the message must be valid UTF-8 too (or
// dbus-daemon disconnects the daemon), with no control character that
// could act on the terminal that shows it.
inline void checkMessage(std::string_view input, std::string_view message)
{
    if (g_utf8_validate(input.data(), static_cast<gssize>(input.size()), nullptr) == 0)
    {
        return;
    }
    FUZZ_CHECK(g_utf8_validate(message.data(), static_cast<gssize>(message.size()), nullptr) != 0);
    for (const char* p = message.data(); p < message.data() + message.size(); p = g_utf8_next_char(p))
    {
        auto c = g_utf8_get_char(p);
        FUZZ_CHECK(c >= 0x20 && !(c >= 0x7f && c <= 0x9f));
    }
}
