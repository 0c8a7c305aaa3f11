// build, log, cancel, jobs and status: the commands about builds.
#include "bus/names.hpp"
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/i18n.hpp"
#include "cli/job_follower.hpp"
#include "cli/log_printer.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/sigint_watch.hpp"
#include "cli/terminal_text.hpp"
#include "util/job_path.hpp"
#include "util/variant_map.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace left4me::cli {

namespace {

constexpr const char* jobInterface = org::left4me::Builder::Job_proxy::INTERFACE_NAME;

// No line is ever numbered this high: following from here waits for the end
// without reading the log.
constexpr uint64_t withoutLog = UINT64_MAX / 2;

std::string readScript(const std::string& name)
{
    std::ostringstream text;
    if (name == "-")
    {
        text << std::cin.rdbuf();
        return text.str();
    }
    std::ifstream file(name, std::ios::binary);
    if (!file)
    {
        throw UsageError(format(N_("cannot read the script %s: %s"), name, std::strerror(errno)));
    }
    text << file.rdbuf();
    return text.str();
}

uint64_t idOf(const std::string& path)
{
    return jobIdFromPath(path).value_or(0);
}

// How `build` and `log --follow` tell that the job will be stopped.
void warnOfTimeout(JobFollower& follower, LogPrinter& printer)
{
    follower.setWarningHandler([&printer](uint64_t deadline) {
        printer.note(
            format(N_("warning: the build reaches its timeout at %s and will be stopped then"), localTime(deadline)));
    });
}

int reportServiceGone()
{
    std::fprintf(stderr, "left4me-builderctl: %s\n", _("the service exited while the job was followed"));
    return exit_code::failure;
}

} // namespace

int runBuild(Session& session, const CommandLine& line)
{
    bool json = line.has("json");
    auto options = buildOptionsOf(line);
    std::string script = readScript(line.args[1]);
    std::string path = session.manager().StartBuild(line.args[0], script, options);
    if (line.has("no-follow"))
    {
        if (json)
        {
            printJsonLine({{"job", idOf(path)}, {"path", path}});
        }
        else
        {
            std::printf("%llu\n", static_cast<unsigned long long>(idOf(path)));
        }
        return exit_code::success;
    }

    LogPrinter printer(json, !line.has("quiet"));
    JobFollower follower(
        session.bus(), path, 0, [&](uint64_t first, auto lines) { printer.lines(first, lines); },
        [&](double fraction, const std::string& text) { printer.progress(fraction, text); });
    warnOfTimeout(follower, printer);
    bool cancelled = false;
    // The first Ctrl-C cancels the build and still shows its last lines; a
    // second one leaves at once (the build is already being stopped).
    SigintWatch sigint([&] {
        if (cancelled)
        {
            follower.interrupt();
            return;
        }
        cancelled = true;
        try
        {
            session.manager().Cancel(sdbus::ObjectPath(path));
        }
        catch (const sdbus::Error&)
        {
            // It ended meanwhile; Finished is on its way.
        }
    });
    auto outcome = follower.run(session.loop(), true);
    printer.finish();
    if (outcome.interrupted)
    {
        return cancelled ? exit_code::interrupted : reportServiceGone();
    }
    if (json)
    {
        printJsonLine({{"job", idOf(path)},
                       {"path", path},
                       {"state", outcome.state},
                       {"result", outcome.result},
                       {"exit_status", outcome.exitStatus}});
    }
    else if (outcome.result == "resources" && !outcome.statusText.empty())
    {
        // StartBuild does not wait for systemd: its refusal arrives here.
        std::fprintf(stderr, "left4me-builderctl: %s\n", outcome.statusText.c_str());
    }
    return exitCodeForJob(outcome.state, outcome.result, outcome.exitStatus, cancelled);
}

int runLog(Session& session, const CommandLine& line)
{
    std::string path = jobPathOf(line.args[0]);
    uint64_t from = line.has("from") ? parseNumber(*line.value("from"), "--from") : 0;
    bool follow = line.has("follow");
    LogPrinter printer(line.has("json"), false);
    JobFollower follower(
        session.bus(), path, from, [&](uint64_t first, auto lines) { printer.lines(first, lines); }, nullptr);
    warnOfTimeout(follower, printer);
    bool stopped = false;
    SigintWatch sigint([&] {
        stopped = true;
        follower.interrupt();
    });
    auto outcome = follower.run(session.loop(), follow);
    if (outcome.interrupted)
    {
        return stopped ? exit_code::interrupted : reportServiceGone();
    }
    return exit_code::success;
}

int runCancel(Session& session, const CommandLine& line)
{
    std::string path = jobPathOf(line.args[0]);
    session.manager().Cancel(sdbus::ObjectPath(path));
    JobFollower follower(session.bus(), path, withoutLog, nullptr, nullptr);
    auto outcome = follower.run(session.loop(), true);
    if (outcome.interrupted)
    {
        return reportServiceGone();
    }
    if (line.has("json"))
    {
        printJsonLine({{"job", idOf(path)}, {"state", outcome.state}, {"result", outcome.result}});
    }
    return exit_code::success;
}

int runJobs(Session& session, const CommandLine& line)
{
    auto jobs = session.objectsWith(jobInterface);
    if (!line.has("all"))
    {
        std::erase_if(jobs, [](const ObjectProperties& job) {
            return isEndedState(variantOr(job.second, "State", std::string()));
        });
    }
    std::sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) {
        return variantOr(a.second, "Id", uint64_t{0}) < variantOr(b.second, "Id", uint64_t{0});
    });

    if (line.has("json"))
    {
        printObjectsJson(jobs);
        return exit_code::success;
    }
    std::vector<std::vector<std::string>> rows;
    rows.reserve(jobs.size());
    for (const auto& [path, p] : jobs)
    {
        int exit = variantOr(p, "ExitStatus", int32_t{-1});
        std::string result = variantOr(p, "Result", std::string());
        rows.push_back({std::to_string(variantOr(p, "Id", uint64_t{0})), variantOr(p, "State", std::string()),
                        result.empty() ? "-" : result, exit < 0 ? "-" : std::to_string(exit),
                        variantOr(p, "Overlay", std::string()), userName(variantOr(p, "Owner", uint32_t{0})),
                        localTime(variantOr(p, "CreatedAt", uint64_t{0}))});
    }
    printTable({_("ID"), _("STATE"), _("RESULT"), _("EXIT"), _("OVERLAY"), _("OWNER"), _("CREATED")}, rows,
               !line.has("no-legend"));
    return exit_code::success;
}

int runStatus(Session& session, const CommandLine& line)
{
    std::string path = jobPathOf(line.args[0]);
    PropertyMap p = session.properties(path, jobInterface);
    if (line.has("json"))
    {
        printJsonLine(objectJson(path, p));
        return exit_code::success;
    }
    int exit = variantOr(p, "ExitStatus", int32_t{-1});
    double progress = variantOr(p, "Progress", -1.0);
    std::string result = variantOr(p, "Result", std::string());
    uint32_t owner = variantOr(p, "Owner", uint32_t{0});
    std::string deadline = localTime(variantOr(p, "Deadline", uint64_t{0}));
    if (variantOr(p, "TimeoutWarned", false))
    {
        deadline += std::string(" ") + _("(warning given)");
    }
    std::vector<std::pair<std::string, std::string>> rows = {
        {_("Job"), std::to_string(variantOr(p, "Id", uint64_t{0}))},
        {_("Path"), path},
        {_("Unit"), variantOr(p, "Unit", std::string())},
        {_("Overlay"), variantOr(p, "Overlay", std::string())},
        {_("State"), variantOr(p, "State", std::string())},
        {_("Result"), result.empty() ? "-" : result},
        {_("Exit status"), exit < 0 ? "-" : std::to_string(exit)},
        {_("Owner"), userName(owner) + " (" + std::to_string(owner) + ")"},
        {_("Created"), localTime(variantOr(p, "CreatedAt", uint64_t{0}))},
        {_("Finished"), localTime(variantOr(p, "FinishedAt", uint64_t{0}))},
        {_("Deadline"), deadline},
        {_("Build hash"), variantOr(p, "BuildHash", std::string())},
        {_("Progress"), progress < 0 ? "-" : std::to_string(std::lround(progress * 100)) + "%"},
        // The script's own status text: shown, never obeyed.
        {_("Status"), terminalText(variantOr(p, "StatusText", std::string()), Controls::blank)},
    };
    size_t width = 0;
    for (const auto& row : rows)
    {
        width = std::max(width, row.first.size());
    }
    for (const auto& [name, value] : rows)
    {
        std::printf("%*s: %s\n", static_cast<int>(width), name.c_str(), value.c_str());
    }
    return exit_code::success;
}

} // namespace left4me::cli
