#pragma once

#include "builder_adaptor.h"
#include "mounts/mount_record.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <string>

namespace left4me {

// /org/left4me/Builder/mount/<instance, escaped as sd_bus_path_encode does>.
std::string mountPath(const std::string& instance);

// The bus face of one mounted instance: read-only properties.
class MountObject final : public sdbus::AdaptorInterfaces<org::left4me::Builder::Mount_adaptor,
                                                          sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor>
{
  public:
    MountObject(sdbus::IConnection& bus, MountRecord record);
    MountObject(const MountObject&) = delete;
    MountObject& operator=(const MountObject&) = delete;
    ~MountObject();

  private:
    std::string Instance() override { return record_.instance; }
    std::vector<std::string> Layers() override { return record_.layers; }
    std::string Unit() override { return record_.unit; }
    std::string Where() override { return record_.where; }
    bool ReadOnly() override { return record_.readOnly; }
    bool Persistent() override { return record_.persistent; }

    MountRecord record_;
};

} // namespace left4me
