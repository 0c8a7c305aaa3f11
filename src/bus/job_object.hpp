#pragma once

#include "builder_adaptor.h"
#include "builds/build_job.hpp"
#include "bus/call_context.hpp"
#include "bus/call_server.hpp"
#include "bus/read_budget.hpp"
#include "loop/glib_source.hpp"
#include "util/job_path.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace left4me {

// The bus face of one BuildJob: its properties, its Log, Finished and
// TimeoutWarning signals, and the Cancel and ReadLog methods.
class JobObject final : public sdbus::AdaptorInterfaces<org::left4me::Builder::Job_adaptor,
                                                        sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor>
{
  public:
    // What Cancel of job ID by a caller takes (the manager's, shared).
    using CancelPlan = std::function<Plan<Done>(const CallContext&, uint64_t id)>;

    JobObject(sdbus::IConnection& bus, BuildJob& job, CallServer& server, ReadBudget& reads, CancelPlan cancel);
    JobObject(const JobObject&) = delete;
    JobObject& operator=(const JobObject&) = delete;
    ~JobObject();

  private:
    void Cancel(sdbus::Result<>&& result) override;
    void ReadLog(sdbus::Result<uint64_t, std::vector<std::string>>&& result, uint64_t from_line,
                 uint32_t max_lines) override;
    // One page of the log, as ReadLog answers it.
    struct LogPage
    {
        uint64_t next = 0;
        std::vector<std::string> lines;
    };
    // Answers a ReadLog now, or holds it until the caller's budget allows.
    void readOrHold(uid_t uid, uint64_t from, uint32_t max, const Reply<LogPage>& reply);
    // Answers the held ReadLog calls whose callers' budget allows, oldest
    // first, and sets the timer for the next.
    void serveHeld();
    void read(uid_t uid, uint64_t from, uint32_t max, const Reply<LogPage>& reply);

    uint64_t Id() override { return job_.info().id; }
    std::string Overlay() override { return job_.info().overlay; }
    std::string Unit() override { return job_.info().unit; }
    std::string State() override { return std::string(toString(job_.info().state)); }
    std::string Result() override { return job_.info().result; }
    int32_t ExitStatus() override { return job_.info().exitStatus; }
    uint32_t Owner() override { return job_.info().owner; }
    uint64_t CreatedAt() override { return job_.info().createdAt; }
    uint64_t FinishedAt() override { return job_.info().finishedAt; }
    std::string BuildHash() override { return job_.info().buildHash; }
    double Progress() override { return job_.info().progress; }
    std::string StatusText() override { return job_.info().statusText; }
    uint64_t Deadline() override { return job_.info().deadline; }
    bool TimeoutWarned() override { return job_.info().timeoutWarned; }

    struct HeldRead
    {
        Reply<LogPage> reply;
        uid_t uid;
        uint64_t from;
        uint32_t max;
    };

    BuildJob& job_;
    CallServer& server_;
    ReadBudget& reads_;
    std::deque<HeldRead> held_;
    GlibSource heldTimer_;
    CancelPlan cancel_;
};

} // namespace left4me
