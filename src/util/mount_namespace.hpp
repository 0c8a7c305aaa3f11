#pragma once

#include <functional>

namespace left4me {

// Runs FN with the calling thread inside PID 1's mount namespace, then
// returns to the daemon's own. Mounts that units must see (BindPaths= of a
// build) have to be made there: the daemon's unit may give it a private
// namespace, and a mount made in one is invisible to PID 1 — the bug that
// gave the old sandbox an empty, root-owned directory.
// Throws std::system_error if a namespace cannot be entered.
void inHostMountNamespace(const std::function<void()>& fn);

} // namespace left4me
