#pragma once

// The exit statuses of left4me-builderctl, documented in
// left4me-builderctl(1). Pure, so that the table is unit-tested.
#include <string_view>

namespace left4me::cli {

namespace exit_code {
inline constexpr int success = 0;
inline constexpr int failure = 1;       // any other error of the service or the bus
inline constexpr int usage = 2;         // bad command line, InvalidArgument, CapabilityNotAllowed, UnitNotAllowed
inline constexpr int notAuthorized = 4; // NotAuthorized, InteractiveAuthorizationRequired, AuthorizationUnavailable
inline constexpr int notFound = 5;      // NoSuchJob, NotMounted, NoSuchAddon, an unknown job
inline constexpr int timedOut = 124;    // a build ended with result "timeout", as timeout(1)
inline constexpr int interrupted = 130; // SIGINT, as a shell reports it
} // namespace exit_code

// True for the Job states that are final: succeeded, failed, cancelled.
bool isEndedState(std::string_view state);

// The exit status for a D-Bus error NAME answered by the service or the bus.
int exitCodeForError(std::string_view name);

// The exit status of `build` (and of a followed job) that ended in STATE
// with RESULT and EXIT_STATUS, as `systemd-run --wait --pipe` reports it:
// the script's own status where it ran.
int exitCodeForJob(std::string_view state, std::string_view result, int exitStatus, bool cancelledByUs);

} // namespace left4me::cli
