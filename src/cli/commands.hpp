#pragma once

// The commands of left4me-builderctl. Each returns the process's exit status
// and lets sdbus::Error escape: main() prints it and maps its name.
#include "cli/command_line.hpp"

namespace left4me::cli {

class Session;

int runBuild(Session& session, const CommandLine& line);
int runLog(Session& session, const CommandLine& line);
int runCancel(Session& session, const CommandLine& line);
int runJobs(Session& session, const CommandLine& line);
int runStatus(Session& session, const CommandLine& line);
int runMount(Session& session, const CommandLine& line);
int runUnmount(Session& session, const CommandLine& line);
int runMounts(Session& session, const CommandLine& line);
int runCaps(Session& session, const CommandLine& line);
int runUnits(Session& session, const CommandLine& line);
int runServer(Session& session, const CommandLine& line);

} // namespace left4me::cli
