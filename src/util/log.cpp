#include "util/log.hpp"

#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <vector>

namespace left4me::log {

void write(int priority, std::string_view message, std::initializer_list<Field> fields)
{
    // Build "KEY=value" strings first: iovecs point into them.
    std::vector<std::string> entries;
    entries.reserve(fields.size() + 3);
    entries.push_back("MESSAGE=" + std::string(message));
    entries.push_back("PRIORITY=" + std::to_string(priority));
    entries.emplace_back("SYSLOG_IDENTIFIER=left4me-builderd");
    for (const auto& field : fields)
    {
        entries.push_back(std::string(field.key) + "=" + field.value);
    }
    std::vector<iovec> iov;
    iov.reserve(entries.size());
    for (auto& entry : entries)
    {
        iov.push_back({entry.data(), entry.size()});
    }
    // Logging must never take the daemon down; a full journal is not our error.
    (void)sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

} // namespace left4me::log
