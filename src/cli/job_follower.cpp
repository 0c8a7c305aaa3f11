#include "cli/job_follower.hpp"

#include "bus/names.hpp"
#include "cli/exit_status.hpp"
#include "util/variant_map.hpp"

#include <cstdint>

namespace left4me::cli {

namespace {

using JobProxy = org::left4me::Builder::Job_proxy;

// As many lines as the service gives in one page: it caps the page (lines
// and bytes) itself, and we read on from next_line in any case.
constexpr uint32_t fullPage = UINT32_MAX;

} // namespace

JobFollower::JobFollower(sdbus::IConnection& bus, const std::string& path, uint64_t fromLine, LinesHandler lines,
                         ProgressHandler progress)
    : ProxyInterfaces(bus, names::busName, path), cursor_(fromLine), lines_(std::move(lines)),
      progress_(std::move(progress))
{
    // Adds the match rules synchronously: every signal from here on reaches us.
    registerProxy();
}

JobFollower::~JobFollower()
{
    unregisterProxy();
}

JobOutcome JobFollower::run(GMainLoop* loop, bool follow)
{
    // The first call starts the service if needed; only then has it an
    // owner to follow. Signals that arrive before are held by sd-bus until
    // the loop runs, and checked then.
    auto properties = GetAll(JobProxy::INTERFACE_NAME);
    // The service may exit or crash while we wait; never hang on it.
    service_ = std::make_unique<NameOwner>(getProxy().getConnection(), names::busName,
                                           [this](const std::string&, const std::string& newOwner) {
                                               if (newOwner.empty())
                                               {
                                                   interrupt();
                                               }
                                           });
    catchUp();
    properties = GetAll(JobProxy::INTERFACE_NAME);
    fraction_ = variantOr(properties, "Progress", -1.0);
    status_ = variantOr(properties, "StatusText", std::string());
    if (progress_ && (fraction_ >= 0 || !status_.empty()))
    {
        progress_(fraction_, status_);
    }
    if (isEndedState(variantOr(properties, "State", std::string())))
    {
        // Lines written between the replay and the property read.
        catchUp();
        ended_ = true;
    }
    if (follow && !ended_)
    {
        if (variantOr(properties, "TimeoutWarned", false))
        {
            warn(variantOr(properties, "Deadline", uint64_t{0})); // before we subscribed
        }
        loop_ = loop;
        g_main_loop_run(loop);
        loop_ = nullptr;
    }

    JobOutcome outcome;
    outcome.interrupted = interrupted_;
    if (!interrupted_)
    {
        properties = GetAll(JobProxy::INTERFACE_NAME);
        outcome.state = variantOr(properties, "State", std::string());
        outcome.result = variantOr(properties, "Result", std::string());
        outcome.exitStatus = variantOr(properties, "ExitStatus", int32_t{-1});
        outcome.statusText = variantOr(properties, "StatusText", std::string());
    }
    return outcome;
}

void JobFollower::interrupt()
{
    interrupted_ = true;
    finish();
}

bool JobFollower::fromService() const
{
    const auto* message = getProxy().getCurrentlyProcessedMessage();
    return service_ && message != nullptr && service_->sent(*message);
}

void JobFollower::catchUp()
{
    for (;;)
    {
        auto [next, lines] = ReadLog(cursor_.next(), fullPage);
        if (lines.empty())
        {
            return;
        }
        uint64_t first = next - lines.size();
        auto fresh = cursor_.take(first, lines);
        if (!fresh.empty() && lines_)
        {
            lines_(cursor_.next() - fresh.size(), fresh);
        }
    }
}

void JobFollower::finish()
{
    if (loop_ != nullptr)
    {
        g_main_loop_quit(loop_);
    }
}

void JobFollower::onLog(const uint64_t& firstLine, const std::vector<std::string>& lines)
{
    if (!fromService())
    {
        return;
    }
    if (cursor_.gapBefore(firstLine))
    {
        catchUp(); // the stored log holds everything up to and past this batch
    }
    auto fresh = cursor_.take(firstLine, lines);
    if (!fresh.empty() && lines_)
    {
        lines_(cursor_.next() - fresh.size(), fresh);
    }
}

void JobFollower::onFinished(const std::string& /*result*/, const int32_t& /*exitStatus*/)
{
    if (!fromService())
    {
        return;
    }
    // Finished comes after the last Log signal; the replay makes sure of it.
    catchUp();
    ended_ = true;
    finish();
}

void JobFollower::onTimeoutWarning(const uint64_t& deadline)
{
    if (fromService())
    {
        warn(deadline);
    }
}

void JobFollower::warn(uint64_t deadline)
{
    // Once: the property read in run() and the signal may both tell it.
    if (warned_ || !warning_)
    {
        return;
    }
    warned_ = true;
    warning_(deadline);
}

void JobFollower::onPropertiesChanged(const std::string& interfaceName,
                                      const std::map<std::string, sdbus::Variant>& changed,
                                      const std::vector<std::string>& /*invalidated*/)
{
    if (interfaceName != JobProxy::INTERFACE_NAME || !progress_ || !fromService())
    {
        return;
    }
    bool update = false;
    if (auto it = changed.find("Progress"); it != changed.end())
    {
        fraction_ = it->second.get<double>();
        update = true;
    }
    if (auto it = changed.find("StatusText"); it != changed.end())
    {
        status_ = it->second.get<std::string>();
        update = true;
    }
    if (update)
    {
        progress_(fraction_, status_);
    }
}

} // namespace left4me::cli
