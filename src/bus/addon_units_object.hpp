#pragma once

#include "builder_adaptor.h"
#include "units/units_record.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <string>

namespace left4me {

// The bus face of one add-on's installed units: read-only properties, at
// /org/left4me/Builder/addon/<addon, escaped>.
class AddonUnitsObject final : public sdbus::AdaptorInterfaces<org::left4me::Builder::AddonUnits_adaptor,
                                                               sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor>
{
  public:
    AddonUnitsObject(sdbus::IConnection& bus, AddonUnitsRecord record);
    AddonUnitsObject(const AddonUnitsObject&) = delete;
    AddonUnitsObject& operator=(const AddonUnitsObject&) = delete;
    ~AddonUnitsObject();

    [[nodiscard]] const AddonUnitsRecord& record() const { return record_; }

  private:
    std::string Addon() override { return record_.addon; }
    std::string Version() override { return record_.version; }
    std::vector<std::string> Units() override { return record_.units; }
    std::vector<std::string> Enabled() override { return record_.enabled; }

    AddonUnitsRecord record_;
};

} // namespace left4me
