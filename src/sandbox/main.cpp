// left4me-build-run [--overlay=DIR] [--environment=FILE] COMMAND [ARG...]:
// the first process of every build, in the sandbox. It runs COMMAND (the
// script's shell) with stdout and stderr on two pipes and writes both, as
// whole lines, to its own stdout, which systemd appends to the job's log
// file: a line from stderr carries the mark of stream_lines.hpp, which is
// how clients tell the streams apart.
//
// --overlay=DIR: first wait until an idmapped mount covers DIR, and run
// COMMAND in it. The daemon can only idmap the overlay once systemd has
// allocated the build's dynamic user, after this process started; the
// mount reaches this namespace by propagation.
// --environment=FILE: the caller's environment option, NUL-separated
// KEY=VALUE entries, given to COMMAND only. It never reaches this process's
// own environment, so nothing the caller or script sets (LD_PRELOAD,
// GLIBC_TUNABLES, MALLOC_*, ...) changes how the relay behaves.
//
// It exits as COMMAND did (the same status, or the same signal, except
// 128+N for the signals systemd deems clean), so the unit's result and
// ExecMainStatus are the script's.

#include "fs/unique_fd.hpp"
#include "sandbox/stream_lines.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace {

using left4me::Stream;
using left4me::StreamLines;
using left4me::UniqueFd;

// The log file (our stdout), and its size limit: past it the build stops,
// so one build cannot fill the disk.
struct Log
{
    uint64_t limit = UINT64_MAX;
    uint64_t written = 0;
    // The log's size before our first write: systemd opened it to append,
    // so the log ends at start + written.
    uint64_t start = 0;
    // Whether fallocate works here; without it a full disk still stops the
    // build, only without a closing line.
    bool canReserve = true;
    pid_t child = -1;
};
Log theLog;

// Room for a closing line, kept allocated past the log's end.
constexpr uint64_t closingRoom = 1024;

// MID_LINE: a write stopped inside a line, which the closing line must not
// be glued to.
[[noreturn]] void stopBuild(const std::string& closing, int exitStatus, bool midLine = false)
{
    std::string line =
        (midLine ? "\n" : "") + std::string(1, left4me::stderrMark) + closing + "; the build is stopped.\n";
    (void)!::write(STDOUT_FILENO, line.data(), line.size()); // into the reserved room
    if (theLog.child > 0)
    {
        ::kill(theLog.child, SIGKILL); // the rest of the unit goes when we do
    }
    ::_exit(exitStatus);
}

[[noreturn]] void logWriteFailed(int error, bool midLine = false)
{
    stopBuild(std::string(left4me::logWriteFailedMessage) + " (" + std::strerror(error) + ")",
              left4me::logWriteFailedExitStatus, midLine);
}

// Allocates the blocks BUFFER and a closing line after it will need, before
// writing: when the disk is full this fails, while the room reserved by the
// previous call still holds the closing line.
void reserve(std::size_t size)
{
    if (!theLog.canReserve)
    {
        return;
    }
    if (::fallocate(STDOUT_FILENO, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(theLog.start + theLog.written),
                    static_cast<off_t>(size + closingRoom)) != 0)
    {
        if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EPERM)
        {
            theLog.canReserve = false; // not this filesystem; write() reports a full disk then
            return;
        }
        logWriteFailed(errno);
    }
}

void writeRaw(std::string_view buffer)
{
    reserve(buffer.size());
    std::size_t done = 0;
    while (done < buffer.size())
    {
        ssize_t n = ::write(STDOUT_FILENO, buffer.data() + done, buffer.size() - done);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0)
        {
            logWriteFailed(n < 0 ? errno : ENOSPC, done > 0);
        }
        done += static_cast<std::size_t>(n);
    }
    theLog.written += done;
}

// Appends BUFFER's whole lines to the log, unless that would pass the limit:
// then a last stderr line says so, and the build stops with status 125
// (the daemon reports result "log-limit").
void writeAll(std::string& buffer)
{
    if (theLog.written + buffer.size() + closingRoom > theLog.limit)
    {
        // The whole lines that still fit, then the closing line.
        uint64_t room = theLog.limit - std::min(theLog.limit, theLog.written + closingRoom);
        auto end = std::string_view(buffer).substr(0, room).rfind('\n');
        if (end != std::string_view::npos)
        {
            writeRaw(std::string_view(buffer).substr(0, end + 1));
        }
        stopBuild(std::string(left4me::logLimitMessage) + " of " + std::to_string(theLog.limit) + " bytes",
                  left4me::logLimitExitStatus);
    }
    writeRaw(buffer);
    buffer.clear();
}

// Reads what FD has now, up to BUDGET bytes, into LINES. Returns false at
// end of stream.
bool pump(int fd, Stream stream, StreamLines& lines, std::string& out, std::size_t budget = SIZE_MAX)
{
    std::array<char, 65536> chunk{};
    for (;;)
    {
        ssize_t n = ::read(fd, chunk.data(), std::min(chunk.size(), budget));
        if (n > 0)
        {
            lines.feed(stream, std::string_view(chunk.data(), static_cast<std::size_t>(n)), out);
            writeAll(out);
            budget -= static_cast<std::size_t>(n);
            if (budget == 0)
            {
                return true;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        return n < 0 && errno == EAGAIN;
    }
}

// Stops before COMMAND ever ran, with a marked stderr line in the log
// saying why.
[[noreturn]] void refuseToStart(const std::string& why)
{
    std::string line = std::string(1, left4me::stderrMark) + "left4me-build-run: " + why + "\n";
    (void)!::write(STDOUT_FILENO, line.data(), line.size());
    ::_exit(1);
}

// Whether the topmost mount on DIR (per /proc/self/mountinfo, whose lines
// list mounts in the order they were stacked) is idmapped.
bool idmappedAt(std::string_view mountinfo, std::string_view dir)
{
    bool idmapped = false;
    std::size_t start = 0;
    while (start < mountinfo.size())
    {
        auto end = mountinfo.find('\n', start);
        auto line = mountinfo.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        start = end == std::string_view::npos ? mountinfo.size() : end + 1;
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ...
        std::array<std::string_view, 6> fields{};
        std::size_t at = 0;
        for (auto& field : fields)
        {
            auto next = line.find(' ', at);
            field = line.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at);
            at = next == std::string_view::npos ? line.size() : next + 1;
        }
        if (fields[4] == dir)
        {
            idmapped = ("," + std::string(fields[5]) + ",").find(",idmapped,") != std::string::npos;
        }
    }
    return idmapped;
}

// Waits, a bounded time, for the daemon's idmapped overlay to arrive on
// DIR, then makes it the working directory.
void waitForOverlay(const std::string& dir)
{
    constexpr int timeoutMs = 120000;
    UniqueFd mountinfo(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
    int fd = mountinfo.get();
    if (!mountinfo)
    {
        refuseToStart("cannot read the mount table: " + std::string(std::strerror(errno)));
    }
    for (int waited = 0;;)
    {
        std::string table;
        std::array<char, 65536> chunk{};
        ssize_t n = 0;
        (void)::lseek(fd, 0, SEEK_SET);
        while ((n = ::read(fd, chunk.data(), chunk.size())) > 0)
        {
            table.append(chunk.data(), static_cast<std::size_t>(n));
        }
        if (idmappedAt(table, dir))
        {
            break;
        }
        // The mount table's fd reports every change as POLLPRI.
        pollfd change{fd, POLLPRI, 0};
        constexpr int stepMs = 1000;
        if (waited >= timeoutMs)
        {
            refuseToStart("the overlay was not mounted on " + dir + " within " + std::to_string(timeoutMs / 1000) +
                          " s; the build is stopped.");
        }
        (void)::poll(&change, 1, stepMs);
        waited += stepMs; // an upper bound: a change wakes us early
    }
    mountinfo.reset();
    if (::chdir(dir.c_str()) != 0)
    {
        refuseToStart("cannot enter " + dir + ": " + std::strerror(errno));
    }
}

// COMMAND's environment: ours, with the caller's entries from FILE set over
// it. Entries are KEY=VALUE, NUL-terminated, as the daemon wrote them.
std::vector<std::string> commandEnvironment(const std::string& file)
{
    std::vector<std::string> entries;
    for (char** e = environ; *e != nullptr; ++e)
    {
        entries.emplace_back(*e);
    }
    if (file.empty())
    {
        return entries;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in)
    {
        refuseToStart("cannot read the environment file " + file);
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t start = 0;
    while (start < text.size())
    {
        auto end = text.find('\0', start);
        std::string entry = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        start = end == std::string::npos ? text.size() : end + 1;
        auto key = entry.substr(0, entry.find('=') + 1);
        auto same = std::find_if(entries.begin(), entries.end(),
                                 [&](const std::string& e) { return e.compare(0, key.size(), key) == 0; });
        if (same != entries.end())
        {
            *same = entry;
        }
        else
        {
            entries.push_back(entry);
        }
    }
    return entries;
}

[[noreturn]] void exitAs(int status)
{
    if (WIFSIGNALED(status))
    {
        int sig = WTERMSIG(status);
        if (sig == SIGHUP || sig == SIGINT || sig == SIGTERM || sig == SIGPIPE)
        {
            // systemd counts death by these as a clean exit (SuccessExitStatus=)
            // and collects the unit as a success: a script killed by them
            // did not succeed, so say 128+N as a shell would.
            ::_exit(128 + sig);
        }
        ::signal(sig, SIG_DFL);
        sigset_t only;
        sigemptyset(&only);
        sigaddset(&only, sig);
        ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
        ::raise(sig);
        ::_exit(128 + sig);
    }
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

} // namespace

int main(int argc, char** argv)
{
    // First of all: the script runs as the same user, and a dumpable relay
    // would let it into /proc/<relay>/fd (the log file, unmarked), mem and
    // environ before the relay had started to guard itself.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    std::string overlay;
    std::string environmentFile;
    int first = 1;
    for (; first < argc && std::string_view(argv[first]).rfind("--", 0) == 0; ++first)
    {
        std::string_view option = argv[first];
        if (option == "--")
        {
            ++first;
            break;
        }
        if (option.rfind("--overlay=", 0) == 0)
        {
            overlay = option.substr(std::strlen("--overlay="));
        }
        else if (option.rfind("--environment=", 0) == 0)
        {
            environmentFile = option.substr(std::strlen("--environment="));
        }
        else
        {
            first = argc; // unknown: usage
        }
    }
    if (first >= argc)
    {
        std::fputs("usage: left4me-build-run [--overlay=DIR] [--environment=FILE] COMMAND [ARG...]\n", stderr);
        return 2;
    }
    if (!overlay.empty())
    {
        waitForOverlay(overlay);
    }
    auto environment = commandEnvironment(environmentFile);
    std::vector<char*> envp;
    envp.reserve(environment.size() + 1);
    for (auto& entry : environment)
    {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    // SIGCHLD is read from a signalfd; blocked before the fork, it cannot
    // be missed.
    sigset_t childMask;
    sigset_t oldMask;
    sigemptyset(&childMask);
    sigaddset(&childMask, SIGCHLD);
    if (::sigprocmask(SIG_BLOCK, &childMask, &oldMask) != 0)
    {
        std::perror("left4me-build-run: sigprocmask");
        return 1;
    }
    // The script's stdout and stderr: [0] is ours to read, [1] its to write.
    std::array<std::array<UniqueFd, 2>, 2> pipes;
    for (auto& pipe : pipes)
    {
        std::array<int, 2> ends{};
        if (::pipe2(ends.data(), O_CLOEXEC) != 0)
        {
            std::perror("left4me-build-run: pipe2");
            return 1;
        }
        pipe[0].reset(ends[0]);
        pipe[1].reset(ends[1]);
    }
    // A cancel sends SIGTERM to every process of the unit. The script may
    // trap it and print its last words; the relay stays to deliver them and
    // goes when the script goes (or with everyone at the final SIGKILL).
    // Ignored before the fork, so that no early cancel can catch the relay
    // without it; the child takes the defaults back before it runs COMMAND.
    constexpr std::array ignored{SIGTERM, SIGINT, SIGHUP};
    for (int sig : ignored)
    {
        ::signal(sig, SIG_IGN);
    }
    pid_t child = ::fork();
    if (child < 0)
    {
        std::perror("left4me-build-run: fork");
        return 1;
    }
    if (child == 0)
    {
        for (int sig : ignored)
        {
            ::signal(sig, SIG_DFL);
        }
        ::sigprocmask(SIG_SETMASK, &oldMask, nullptr);
        if (::dup2(pipes[0][1].get(), STDOUT_FILENO) < 0 || ::dup2(pipes[1][1].get(), STDERR_FILENO) < 0)
        {
            ::_exit(127);
        }
        ::execve(argv[first], argv + first, envp.data());
        std::fprintf(stderr, "left4me-build-run: cannot run %s: %s\n", argv[first], std::strerror(errno));
        ::_exit(127);
    }
    pipes[0][1].reset();
    pipes[1][1].reset();
    theLog.child = child;
    if (const char* limit = ::getenv(left4me::logLimitVariable); limit != nullptr)
    {
        theLog.limit = std::strtoull(limit, nullptr, 10);
    }
    struct stat st
    {
    };
    if (::fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
    {
        theLog.start = static_cast<uint64_t>(st.st_size);
    }
    else
    {
        theLog.canReserve = false; // run by hand, onto a terminal or a pipe
    }
    reserve(0);
    UniqueFd exited(::signalfd(-1, &childMask, SFD_CLOEXEC | SFD_NONBLOCK));
    for (auto& pipe : pipes)
    {
        ::fcntl(pipe[0].get(), F_SETFL, ::fcntl(pipe[0].get(), F_GETFL) | O_NONBLOCK);
    }

    StreamLines lines;
    std::string out;
    std::array<pollfd, 3> fds{
        {{pipes[0][0].get(), POLLIN, 0}, {pipes[1][0].get(), POLLIN, 0}, {exited.get(), POLLIN, 0}}};
    const std::array<Stream, 2> streams{Stream::out, Stream::err};
    int status = 0;
    for (;;)
    {
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
        {
            std::perror("left4me-build-run: poll");
            break;
        }
        for (std::size_t i = 0; i < 2; ++i)
        {
            if (fds[i].fd >= 0 && fds[i].revents != 0 && !pump(fds[i].fd, streams[i], lines, out))
            {
                pipes[i][0].reset();
                fds[i].fd = -1; // poll skips it from now on
            }
        }
        if (fds[2].revents != 0)
        {
            signalfd_siginfo info{};
            while (::read(exited.get(), &info, sizeof info) > 0)
            {
            }
            if (::waitpid(child, &status, WNOHANG) == child)
            {
                break;
            }
        }
    }
    // The script is gone. Whatever it (or a straggler it left) wrote before
    // is in the pipes (64 KiB each): take it, but do not wait for, or keep
    // reading, stragglers, which systemd is about to stop.
    constexpr std::size_t pipeBytes = 65536;
    for (std::size_t i = 0; i < 2; ++i)
    {
        if (fds[i].fd >= 0)
        {
            (void)pump(fds[i].fd, streams[i], lines, out, pipeBytes);
        }
        lines.finish(streams[i], out);
    }
    writeAll(out);
    exitAs(status);
}
