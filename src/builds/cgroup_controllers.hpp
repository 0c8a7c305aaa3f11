#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace left4me {

// The controllers a build's limits need: memory (MemoryMax=), pids
// (TasksMax=) and cpu (CPUQuota=).
inline constexpr const char* requiredControllers[] = {"memory", "pids", "cpu"};

// Which of the required controllers are missing from CONTROLLERS, the
// content of a cgroup v2 `cgroup.controllers` file ("cpuset cpu io memory").
std::vector<std::string> missingControllers(std::string_view controllers);

// The same for this host's unified cgroup hierarchy: on a cgroup v1 or
// hybrid host the v1 controllers cannot enforce limits on our units, so
// only what the v2 hierarchy offers counts.
std::vector<std::string> missingHostControllers();

} // namespace left4me
