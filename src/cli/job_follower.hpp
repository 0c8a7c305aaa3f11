#pragma once

// Follows one job: replays its stored log with ReadLog, then prints the Log
// signals live, merged so that no line is lost or printed twice however
// late the client attached, and reports how the job ended.
#include "builder_proxy.h"
#include "cli/log_cursor.hpp"
#include "util/name_owner.hpp"

#include <glib.h>
#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <memory>
#include <span>
#include <string>

namespace left4me::cli {

struct JobOutcome
{
    std::string state;
    std::string result;
    int exitStatus = -1;
    std::string statusText;
    bool interrupted = false; // the loop was left before the job ended
};

class JobFollower final : public sdbus::ProxyInterfaces<org::left4me::Builder::Job_proxy, sdbus::Properties_proxy>
{
  public:
    using LinesHandler = std::function<void(uint64_t first, std::span<const std::string> lines)>;
    using ProgressHandler = std::function<void(double fraction, const std::string& text)>;
    using WarningHandler = std::function<void(uint64_t deadline)>;

    // Subscribes to the job's signals before anything is read, so that the
    // replay and the live lines meet.
    JobFollower(sdbus::IConnection& bus, const std::string& path, uint64_t fromLine, LinesHandler lines,
                ProgressHandler progress);
    JobFollower(const JobFollower&) = delete;
    JobFollower& operator=(const JobFollower&) = delete;
    ~JobFollower();

    // While following, WARNING is told the deadline once when the job warns
    // that its timeout will stop it, or at once if it had warned before.
    void setWarningHandler(WarningHandler warning) { warning_ = std::move(warning); }

    // Replays the log from the first line; with FOLLOW, then runs LOOP until
    // the job has ended and its last line is printed, or interrupt().
    JobOutcome run(GMainLoop* loop, bool follow);
    void interrupt();

  private:
    void onLog(const uint64_t& firstLine, const std::vector<std::string>& lines) override;
    void onFinished(const std::string& result, const int32_t& exitStatus) override;
    void onTimeoutWarning(const uint64_t& deadline) override;
    void warn(uint64_t deadline);
    void onPropertiesChanged(const std::string& interfaceName, const std::map<std::string, sdbus::Variant>& changed,
                             const std::vector<std::string>& invalidated) override;

    // True while handling a signal that the service itself sent; anyone
    // else's is dropped (see NameOwner).
    [[nodiscard]] bool fromService() const;
    // ReadLog from the cursor until the stored log has no more lines.
    void catchUp();
    void finish();

    // Set once the replay has started the service: its unique name.
    std::unique_ptr<NameOwner> service_;
    LogCursor cursor_;
    LinesHandler lines_;
    ProgressHandler progress_;
    WarningHandler warning_;
    bool warned_ = false;
    GMainLoop* loop_ = nullptr;
    bool ended_ = false;
    bool interrupted_ = false;
    double fraction_ = -1;
    std::string status_;
};

} // namespace left4me::cli
