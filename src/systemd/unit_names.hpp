#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace left4me::unit {

// "left4me-build@<id>.service": the instance of the shipped build template.
std::string buildUnitName(uint64_t jobId);

// systemd's object path for a unit name: bus_label_escape() of the name
// under /org/freedesktop/systemd1/unit/ (every byte that is not [A-Za-z0-9]
// becomes _xx in lower-case hex; a leading digit is escaped too).
std::string objectPath(std::string_view unitName);

// Our ExitStatus from systemd's ExecMainCode/ExecMainStatus: the exit code
// when the process exited (CLD_EXITED), 128+signal when a signal ended it
// (as shells report it), and -1 when the script never ran.
int32_t exitStatus(int32_t execMainCode, int32_t execMainStatus);

} // namespace left4me::unit
