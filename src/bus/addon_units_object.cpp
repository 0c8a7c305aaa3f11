#include "bus/addon_units_object.hpp"

#include "bus/names.hpp"
#include "bus/object_path.hpp"

namespace left4me {

AddonUnitsObject::AddonUnitsObject(sdbus::IConnection& bus, AddonUnitsRecord record)
    : AdaptorInterfaces(bus, encodedPath(names::addonPathPrefix, record.addon)), record_(std::move(record))
{
    registerAdaptor();
    emitInterfacesAddedSignal({names::addonUnitsInterface});
}

AddonUnitsObject::~AddonUnitsObject()
{
    try
    {
        emitInterfacesRemovedSignal({names::addonUnitsInterface});
    }
    catch (const sdbus::Error&)
    {
        // The bus is gone (shutdown): nobody is left to tell.
    }
    unregisterAdaptor();
}

} // namespace left4me
