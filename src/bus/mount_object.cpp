#include "bus/mount_object.hpp"

#include "bus/names.hpp"

#include <systemd/sd-bus.h>

#include <cstdlib>

namespace left4me {

std::string mountPath(const std::string& instance)
{
    char* path = nullptr;
    // Instance names are validated ([A-Za-z0-9][A-Za-z0-9_.-]*), so encoding
    // can only fail on memory exhaustion.
    if (sd_bus_path_encode(names::mountPathPrefix, instance.c_str(), &path) < 0)
    {
        throw std::bad_alloc();
    }
    std::string out(path);
    std::free(path); // NOLINT(cppcoreguidelines-no-malloc): sd-bus allocates with malloc
    return out;
}

MountObject::MountObject(sdbus::IConnection& bus, MountRecord record)
    : AdaptorInterfaces(bus, mountPath(record.instance)), record_(std::move(record))
{
    registerAdaptor();
    emitInterfacesAddedSignal({names::mountInterface});
}

MountObject::~MountObject()
{
    try
    {
        emitInterfacesRemovedSignal({names::mountInterface});
    }
    catch (const sdbus::Error&)
    {
        // The bus is gone (shutdown): nobody is left to tell.
    }
    unregisterAdaptor();
}

} // namespace left4me
