#pragma once

#include "builds/build_job.hpp"
#include "builder_adaptor.h"
#include "bus/call_context.hpp"
#include "bus/read_budget.hpp"
#include "loop/glib_source.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace left4me {

std::string jobPath(uint64_t id);
// The id in a job object path, or nullopt if PATH is not one.
std::optional<uint64_t> jobIdFromPath(const std::string& path);

// The bus face of one BuildJob: its properties, its Log and Finished
// signals, and the Cancel and ReadLog methods.
class JobObject final : public sdbus::AdaptorInterfaces<org::left4me::Builder::Job_adaptor,
                                                        sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor>
{
  public:
    using CancelHandler = std::function<void(const std::shared_ptr<sdbus::Result<>>&, const CallContext&, uint64_t id)>;

    JobObject(sdbus::IConnection& bus, BuildJob& job, CallerUids& callers, ReadBudget& reads, CancelHandler cancel,
              std::function<void()> activity);
    JobObject(const JobObject&) = delete;
    JobObject& operator=(const JobObject&) = delete;
    ~JobObject();

  private:
    void Cancel(sdbus::Result<>&& result) override;
    using ReadReply = sdbus::Result<uint64_t, std::vector<std::string>>;
    void ReadLog(ReadReply&& result, uint64_t from_line, uint32_t max_lines) override;
    // Answers the held ReadLog calls whose callers' budget allows, oldest
    // first, and sets the timer for the next.
    void serveHeld();
    void serve(ReadReply& reply, uid_t uid, uint64_t from, uint32_t max);

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

    struct HeldRead
    {
        ReadReply reply;
        uid_t uid;
        uint64_t from;
        uint32_t max;
    };

    BuildJob& job_;
    CallerUids& callers_;
    ReadBudget& reads_;
    std::deque<HeldRead> held_;
    GlibSource heldTimer_;
    CancelHandler cancel_;
    std::function<void()> activity_;
};

} // namespace left4me
