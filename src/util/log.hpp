#pragma once

#include <syslog.h>

#include <initializer_list>
#include <string>
#include <string_view>

// Structured logging to the journal. Each entry carries MESSAGE plus fields
// such as LEFT4ME_JOB=, LEFT4ME_OVERLAY=, LEFT4ME_CALLER_UID= or MESSAGE_ID=,
// so `journalctl LEFT4ME_JOB=7` finds everything about one build.
namespace left4me::log {

struct Field
{
    std::string_view key;
    std::string value;
};

void write(int priority, std::string_view message, std::initializer_list<Field> fields = {});

inline void debug(std::string_view m, std::initializer_list<Field> f = {})
{
    write(LOG_DEBUG, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {})
{
    write(LOG_INFO, m, f);
}
inline void notice(std::string_view m, std::initializer_list<Field> f = {})
{
    write(LOG_NOTICE, m, f);
}
inline void warning(std::string_view m, std::initializer_list<Field> f = {})
{
    write(LOG_WARNING, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {})
{
    write(LOG_ERR, m, f);
}

} // namespace left4me::log
