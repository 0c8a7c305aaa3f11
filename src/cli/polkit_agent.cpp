#include "cli/polkit_agent.hpp"

#include "fs/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <utility>

namespace left4me::cli {

namespace {

// pkttyagent closes this descriptor once it is registered with polkitd.
constexpr int notifyFd = 3;
constexpr int registrationTimeoutMs = 5000;

} // namespace

PolkitAgent::PolkitAgent(PolkitAgent&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}

PolkitAgent& PolkitAgent::operator=(PolkitAgent&& other) noexcept
{
    if (this != &other)
    {
        stop();
        pid_ = std::exchange(other.pid_, -1);
    }
    return *this;
}

PolkitAgent::~PolkitAgent()
{
    stop();
}

void PolkitAgent::stop()
{
    if (pid_ > 0)
    {
        ::kill(pid_, SIGTERM);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR)
        {
        }
        pid_ = -1;
    }
}

PolkitAgent PolkitAgent::startIfTerminal()
{
    if (::isatty(STDIN_FILENO) == 0)
    {
        return {};
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0)
    {
        return {};
    }
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    std::string self = std::to_string(::getpid());

    pid_t pid = ::fork();
    if (pid < 0)
    {
        return {};
    }
    if (pid == 0)
    {
        // The child: only async-signal-safe calls until exec.
        // dup2 onto itself would keep O_CLOEXEC: clear the flag instead.
        int ok = writeEnd.get() == notifyFd ? ::fcntl(notifyFd, F_SETFD, 0) : ::dup2(writeEnd.get(), notifyFd);
        if (ok < 0)
        {
            ::_exit(127);
        }
        // Scoped to this process, not to the login session: it then serves our
        // calls even where there is no session (su, setpriv, containers) and
        // never stands in for another program's agent. Not --fallback: polkit
        // ignores a fallback agent for a subject without a session.
        ::execlp("pkttyagent", "pkttyagent", "--notify-fd", "3", "--process", self.c_str(), nullptr);
        ::_exit(127);
    }
    writeEnd.reset();
    // Wait until it has registered (EOF on the pipe) or has died; a missing
    // pkttyagent exits 127 at once and the call simply gets no agent.
    pollfd wait{readEnd.get(), POLLIN, 0};
    (void)::poll(&wait, 1, registrationTimeoutMs);
    return PolkitAgent(pid);
}

} // namespace left4me::cli
