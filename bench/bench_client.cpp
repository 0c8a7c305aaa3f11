// left4me-bench-client: the C++ side of bench/run. It keeps one bus
// connection for all its runs, as a real client would, so that what it times
// is the service and not a process start or a bus handshake.
//
//   left4me-bench-client round-trips OVERLAY SCRIPT
//       one StartBuild -> Finished round trip per line read on stdin; prints
//       one JSON object per round trip
//   left4me-bench-client follow OVERLAY SCRIPT
//       one build; counts its Log lines and hashes them (sha256 of the lines,
//       each followed by a newline); prints one JSON object
#include <glib.h>
#include <poll.h>
#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr const char* busName = "org.left4me.Builder";
constexpr const char* managerPath = "/org/left4me/Builder";

using Clock = std::chrono::steady_clock;

struct Finished
{
    std::string result;
    int32_t exitStatus = -1;
};

// Everything a job has signalled, kept by object path: signals may arrive
// before StartBuild's reply names the job.
struct JobSignals
{
    uint64_t lines = 0;
    uint64_t signals = 0;
    uint64_t nextLine = 0;
    bool gap = false;
    Clock::time_point firstLineAt;
    Clock::time_point lastLineAt;
    std::unique_ptr<GChecksum, decltype(&g_checksum_free)> sha{g_checksum_new(G_CHECKSUM_SHA256), &g_checksum_free};
    std::unique_ptr<Finished> finished;
};

class Client
{
  public:
    explicit Client(bool hashLines)
        : bus_(sdbus::createSystemBusConnection()), manager_(sdbus::createProxy(*bus_, busName, managerPath)),
          hashLines_(hashLines)
    {
        std::string match = std::string("type='signal',sender='") + busName + "',interface='org.left4me.Builder.Job'";
        slot_ = bus_->addMatch(match, [this](sdbus::Message& message) { onSignal(message); });
        manager_->finishRegistration();
    }

    std::string startBuild(const std::string& overlay, const std::string& script)
    {
        sdbus::ObjectPath job;
        manager_->callMethod("StartBuild")
            .onInterface(busName)
            .withArguments(overlay, script, std::map<std::string, sdbus::Variant>{})
            .storeResultsTo(job);
        return job;
    }

    // Dispatches bus traffic until JOB has signalled Finished.
    JobSignals& waitFinished(const std::string& job)
    {
        for (;;)
        {
            while (bus_->processPendingRequest())
            {
            }
            auto& signals = jobs_[job];
            if (signals.finished)
            {
                return signals;
            }
            auto poll = bus_->getEventLoopPollData();
            pollfd fd{poll.fd, poll.events, 0};
            (void)::poll(&fd, 1, 1000);
        }
    }

    void forget(const std::string& job) { jobs_.erase(job); }

  private:
    void onSignal(sdbus::Message& message)
    {
        auto& signals = jobs_[message.getPath()];
        if (message.getMemberName() == std::string("Log"))
        {
            // Read in place, as char*: a client that built a std::string per
            // line would be timing its own allocator, not the service.
            uint64_t first = 0;
            message >> first;
            message.enterContainer("s");
            uint64_t count = 0;
            for (;;)
            {
                char* line = nullptr;
                message >> line;
                if (!message)
                {
                    break;
                }
                ++count;
                if (hashLines_)
                {
                    text_.append(line).push_back('\n');
                }
            }
            message.clearFlags();
            message.exitContainer();
            if (hashLines_)
            {
                g_checksum_update(signals.sha.get(), reinterpret_cast<const guchar*>(text_.data()),
                                  static_cast<gssize>(text_.size()));
                text_.clear();
            }
            signals.gap = signals.gap || first != signals.nextLine;
            signals.nextLine = first + count;
            signals.lines += count;
            if (signals.signals++ == 0)
            {
                signals.firstLineAt = Clock::now();
            }
            signals.lastLineAt = Clock::now();
        }
        else if (message.getMemberName() == std::string("Finished"))
        {
            auto finished = std::make_unique<Finished>();
            message >> finished->result >> finished->exitStatus;
            signals.finished = std::move(finished);
        }
    }

    std::unique_ptr<sdbus::IConnection> bus_;
    std::unique_ptr<sdbus::IProxy> manager_;
    sdbus::Slot slot_;
    bool hashLines_;
    std::string text_;
    std::map<std::string, JobSignals> jobs_;
};

double msSince(Clock::time_point start, Clock::time_point end = Clock::now())
{
    return std::chrono::duration<double, std::milli>(end - start).count();
}

std::string quoted(const std::string& text)
{
    std::string out = "\"";
    for (char c : text)
    {
        if (c == '"' || c == '\\')
        {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

int roundTrips(const std::string& overlay, const std::string& script)
{
    Client client(false);
    std::string line;
    while (std::getline(std::cin, line))
    {
        auto start = Clock::now();
        auto job = client.startBuild(overlay, script);
        auto replied = Clock::now();
        const auto& finished = *client.waitFinished(job).finished;
        auto ms = msSince(start);
        std::printf("{\"ms\": %.3f, \"reply_ms\": %.3f, \"job\": %s, \"result\": %s, \"exit_status\": %d}\n", ms,
                    msSince(start, replied), quoted(job).c_str(), quoted(finished.result).c_str(), finished.exitStatus);
        std::fflush(stdout);
        client.forget(job);
    }
    return 0;
}

int follow(const std::string& overlay, const std::string& script)
{
    Client client(true);
    auto start = Clock::now();
    auto job = client.startBuild(overlay, script);
    auto& signals = client.waitFinished(job);
    std::printf("{\"ms\": %.3f, \"first_line_ms\": %.3f, \"finished_ms\": %.3f, \"lines\": %llu, \"signals\": %llu, "
                "\"gap\": %s, \"sha256\": \"%s\", \"job\": %s, "
                "\"result\": %s, \"exit_status\": %d}\n",
                msSince(start, signals.lastLineAt), msSince(start, signals.firstLineAt), msSince(start),
                static_cast<unsigned long long>(signals.lines), static_cast<unsigned long long>(signals.signals),
                signals.gap ? "true" : "false", g_checksum_get_string(signals.sha.get()), quoted(job).c_str(),
                quoted(signals.finished->result).c_str(), signals.finished->exitStatus);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    try
    {
        if (args.size() == 3 && args[0] == "round-trips")
        {
            return roundTrips(args[1], args[2]);
        }
        if (args.size() == 3 && args[0] == "follow")
        {
            return follow(args[1], args[2]);
        }
    }
    catch (const sdbus::Error& e)
    {
        std::fprintf(stderr, "left4me-bench-client: %s: %s\n", e.getName().c_str(), e.getMessage().c_str());
        return 1;
    }
    std::fprintf(stderr, "Usage: left4me-bench-client round-trips|follow OVERLAY SCRIPT\n");
    return 2;
}
