// left4me-build-exit FILE: a build unit's ExecStopPost= (with "+": as root,
// after every process of the build is gone). Writes how the unit ended,
// from systemd's environment, to FILE, in the job's exit directory (see
// builds/exit_record.hpp for why). Reads nothing but those three variables,
// replaces FILE atomically, and writes nothing to stdout or stderr: both
// are the build's log. Its exit status says what failed (2: usage, 1: the
// write), and systemd's journal has that for the unit; the sandbox's /run
// has no syslog socket to say more.

#include "builds/exit_record.hpp"
#include "fs/file_write.hpp"

#include <cstdlib>
#include <exception>
#include <string>

namespace {

std::string env(const char* name)
{
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2)
    {
        return 2;
    }
    try
    {
        left4me::replaceFile(
            argv[1], left4me::formatExitRecord(env("SERVICE_RESULT"), env("EXIT_CODE"), env("EXIT_STATUS")), 0600);
    }
    catch (const std::exception&)
    {
        // A failed ExecStopPost= fails the unit, which systemd then keeps
        // for the daemon to read: nothing is lost but the exact result.
        return 1;
    }
    return 0;
}
