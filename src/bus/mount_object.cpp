#include "bus/mount_object.hpp"

#include "bus/names.hpp"
#include "bus/object_path.hpp"

namespace left4me {

std::string mountPath(const std::string& instance)
{
    return encodedPath(names::mountPathPrefix, instance);
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
