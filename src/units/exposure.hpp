#pragma once

#include <string>

namespace left4me {

// Logs what `systemd-analyze security --offline=yes` says of the unit file
// at PATH (the installed copy of an add-on's UNIT): its overall exposure,
// e.g. "6.2 MEDIUM", in the journal with LEFT4ME_ADDON= and UNIT=. Runs
// the tool as a child on the event loop and returns at once; nothing waits
// for it, and a tool that fails only says so in the journal.
void logExposure(const std::string& path, const std::string& unit, const std::string& addon);

// The "6.2 MEDIUM" of systemd-analyze's closing line in OUTPUT; empty if
// there is none.
std::string exposureOf(const std::string& output);

} // namespace left4me
