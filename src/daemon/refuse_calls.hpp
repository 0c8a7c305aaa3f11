#pragma once

#include <string>

namespace left4me {

// For a daemon that cannot start. The calls that activated it are held by
// dbus-daemon until their sender gives up at its 25 s activation timeout,
// and then read only "timed out". Instead this takes the bus name for a
// moment, answers every call that comes (those held, and any sent meanwhile)
// with ERROR_NAME and MESSAGE, and gives the name up again once 200 ms pass
// without one. Best effort: any bus failure just ends it.
void refuseCalls(const char* errorName, const std::string& message);

} // namespace left4me
