#pragma once

// A textual polkit authentication agent for the duration of a command, as
// systemctl, pkcon and fwupdmgr start one: pkttyagent registered for this
// process, so that polkit can ask for a password on the terminal even over
// ssh, where no graphical agent runs.
#include <sys/types.h>

namespace left4me::cli {

class PolkitAgent
{
  public:
    PolkitAgent() = default;
    PolkitAgent(const PolkitAgent&) = delete;
    PolkitAgent& operator=(const PolkitAgent&) = delete;
    PolkitAgent(PolkitAgent&& other) noexcept;
    PolkitAgent& operator=(PolkitAgent&& other) noexcept;
    ~PolkitAgent();

    // Starts pkttyagent when standard input is a terminal and waits (briefly)
    // until it has registered. Without a terminal, or if pkttyagent is
    // missing, no agent runs and polkit answers without asking.
    static PolkitAgent startIfTerminal();

    [[nodiscard]] bool running() const { return pid_ > 0; }

  private:
    explicit PolkitAgent(pid_t pid) : pid_(pid) {}
    void stop();

    pid_t pid_ = -1;
};

} // namespace left4me::cli
