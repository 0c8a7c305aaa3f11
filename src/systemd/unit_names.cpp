#include "systemd/unit_names.hpp"

#include <sys/wait.h>

namespace left4me::unit {

std::string buildUnitName(uint64_t jobId)
{
    return "left4me-build@" + std::to_string(jobId) + ".service";
}

std::string objectPath(std::string_view unitName)
{
    static constexpr const char* hex = "0123456789abcdef";
    std::string path = "/org/freedesktop/systemd1/unit/";
    if (unitName.empty())
    {
        return path + "_";
    }
    for (std::size_t i = 0; i < unitName.size(); ++i)
    {
        auto c = static_cast<unsigned char>(unitName[i]);
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool digit = c >= '0' && c <= '9';
        if (alpha || (digit && i > 0))
        {
            path += static_cast<char>(c);
        }
        else
        {
            path += '_';
            path += hex[c >> 4U];
            path += hex[c & 0xfU];
        }
    }
    return path;
}

int32_t exitStatus(int32_t execMainCode, int32_t execMainStatus)
{
    switch (execMainCode)
    {
    case CLD_EXITED:
        return execMainStatus;
    case CLD_KILLED:
    case CLD_DUMPED:
        return 128 + execMainStatus;
    default:
        return -1;
    }
}

} // namespace left4me::unit
