#pragma once

#include <functional>

namespace left4me {

// Runs FN with the calling thread inside PID 1's namespace of TYPE
// (CLONE_NEWNS or CLONE_NEWNET), then returns to the daemon's own. The
// daemon's unit gives it private ones, and some work must happen in the
// host's: mounts that units must see (BindPaths= of a build) are made in
// PID 1's mount namespace, since a mount made in the daemon's is invisible
// to PID 1 (the bug that gave the old sandbox an empty, root-owned
// directory); the socket that lists the host's addresses is made in PID 1's
// network namespace. Throws std::system_error if a namespace cannot be
// entered.
void inHostNamespace(int type, const std::function<void()>& fn);

void inHostMountNamespace(const std::function<void()>& fn);

} // namespace left4me
