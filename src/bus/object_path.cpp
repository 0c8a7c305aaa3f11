#include "bus/object_path.hpp"

#include <systemd/sd-bus.h>

#include <cstdlib>
#include <new>

namespace left4me {

std::string encodedPath(const char* prefix, const std::string& name)
{
    char* path = nullptr;
    // Names are validated before they get here, so encoding can only fail
    // on memory exhaustion.
    if (sd_bus_path_encode(prefix, name.c_str(), &path) < 0)
    {
        throw std::bad_alloc();
    }
    std::string out(path);
    std::free(path); // NOLINT(cppcoreguidelines-no-malloc): sd-bus allocates with malloc
    return out;
}

} // namespace left4me
