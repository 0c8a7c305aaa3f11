#pragma once

// A broken promise is a crash: libFuzzer keeps the input that made it.
#include <glib.h>

#include <cstddef>
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

// Valid UTF-8 by glib's validator, not ours; with a length, it refuses NUL
// too, as D-Bus does.
inline bool validUtf8(std::string_view text)
{
    return g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr) != 0;
}

// Valid UTF-8 TEXT holds no control character (C0, DEL or C1) a terminal
// would act on, TAB aside if TAB_OK. Returns its count of code points.
inline std::size_t checkNoControls(std::string_view text, bool tabOk)
{
    std::size_t points = 0;
    for (const char* p = text.data(); p < text.data() + text.size(); p = g_utf8_next_char(p))
    {
        auto c = g_utf8_get_char(p);
        FUZZ_CHECK((c >= 0x20 && !(c >= 0x7f && c <= 0x9f)) || (tabOk && c == '\t'));
        ++points;
    }
    return points;
}

// An error message the daemon would send about INPUT. D-Bus delivers only
// valid UTF-8, and for such input the message must be valid UTF-8 too (or
// dbus-daemon disconnects the daemon), with no control character that
// could act on the terminal that shows it.
inline void checkMessage(std::string_view input, std::string_view message)
{
    if (!validUtf8(input))
    {
        return;
    }
    FUZZ_CHECK(validUtf8(message));
    checkNoControls(message, false);
}
