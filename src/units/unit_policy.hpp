#pragma once

#include "systemd/systemd.hpp"

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

// What an add-on's unit may be, judged on what systemd made of it (never on
// our own reading of the file): it runs as an allowed user and never as
// root, gains no privilege, and pulls in, stops or triggers nothing but the
// add-on's own units and the passive targets every service names.
namespace left4me {

struct UnitPolicy
{
    std::set<std::string> users;  // unit_users (default: the owner user)
    std::set<std::string> groups; // their primary groups
    std::set<std::string> own;    // the add-on's units in this install
    // The name a unit systemd loaded stands for: InstallUnits checks copies
    // of the files under names of their own, which this maps back.
    std::function<std::string(const std::string&)> finalName = [](const std::string& name) { return name; };
};

// Why UNIT (its final name; FACTS from systemd) is refused, or nullopt.
std::optional<std::string> unitRefusal(const std::string& unit, const UnitFacts& facts, const UnitPolicy& policy);

// Why enabling the add-on's units may not make CHANGES (what
// EnableUnitFiles did with their [Install] sections): only links of its own
// units into the wants/requires of a passive target or of its own units
// are allowed, so no Alias= and no Also=. nullopt if it may.
std::optional<std::string> installRefusal(const std::vector<UnitFileChange>& changes, const UnitPolicy& policy);

// Why the unit file TEXT is refused for a setting systemd does not show
// over D-Bus: PermissionsStartOnly= (it gives ExecStartPre= and the like
// root's privileges, and systemd 252 has neither a property for it nor a
// flag on the commands). Any assignment is refused, whatever its value.
std::optional<std::string> settingRefusal(const std::string& text);

// The targets an add-on's unit may name: pulling in, or being pulled in by,
// one of these starts nothing that would not run anyway.
const std::set<std::string>& passiveTargets();

} // namespace left4me
