#include "servers/server_service.hpp"

#include "ops/message_ids.hpp"
#include "ops/op_error.hpp"
#include "util/join.hpp"
#include "util/log.hpp"

#include <filesystem>
#include <optional>
#include <system_error>

namespace left4me {

namespace {

OpError invalid(const std::string& message)
{
    return {ErrorKind::invalidArgument, message};
}

OpError failed(const std::string& message)
{
    return {ErrorKind::failed, message};
}

std::string baseName(const std::string& path)
{
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The links among LINKS that are not named for UNIT: what an Also= or
// Alias= of the template would link besides the instance.
std::vector<std::string> otherNames(const std::vector<std::string>& links, const std::string& unit)
{
    std::vector<std::string> others;
    for (const auto& link : links)
    {
        if (baseName(link) != unit)
        {
            others.push_back(link);
        }
    }
    return others;
}

// Why the loaded unit LOAD is not the instance of REQUEST's template: an
// alias of another unit, or a file of its own (an instance-specific unit
// file, or a link to another unit file that systemd loads under this name).
// Enabling or disabling it would act on that other unit. nullopt if it is.
std::optional<std::string> notAnInstance(const ServerRequest& request, const UnitFacts& load)
{
    if (load.id != request.unit)
    {
        return request.unit + " is an alias of " + load.id + "; only instances of the template itself are served.";
    }
    if (load.unitFileState == "bad")
    {
        // systemd 252 loads the template for an instance name linked to
        // another unit's file (an invalid alias), but calls its state bad:
        // disabling it would remove that link.
        return request.unit + "'s unit file state is \"bad\" (a link under its name to another unit's file?); " +
               "only instances of the template itself are served.";
    }
    if (baseName(load.fragmentPath) != request.templateName)
    {
        return request.unit + " is loaded from " + load.fragmentPath + ", not from " + request.templateName +
               "; only instances of the template itself are served.";
    }
    return std::nullopt;
}

// Why systemd's UNIT (the name asked for) cannot be enabled, as LOAD shows
// it: a sentence for the caller, or nullopt.
std::optional<std::string> whyNotEnabled(const ServerRequest& request, const UnitFacts& load)
{
    const auto& unit = request.unit;
    if (load.loadState == "not-found")
    {
        return "There is no unit file for " + request.templateName + " (systemd: " + load.loadError +
               "): install the template, for example in /etc/systemd/system, and run systemctl daemon-reload.";
    }
    if (load.loadState == "masked" || load.unitFileState.starts_with("masked"))
    {
        return unit + " is masked; unmask it first (systemctl unmask " + unit + ").";
    }
    if (load.loadState != "loaded")
    {
        return request.templateName + " does not load (" + load.loadState +
               (load.loadError.empty() ? "" : ": " + load.loadError) + "); fix it and run systemctl daemon-reload.";
    }
    if (auto why = notAnInstance(request, load))
    {
        return why;
    }
    if (load.unitFileState == "static")
    {
        return request.templateName + " has no [Install] section, so enabling " + unit +
               " would link nothing; add one, for example WantedBy=multi-user.target.";
    }
    if (load.unitFileState != "enabled" && load.unitFileState != "enabled-runtime" &&
        load.unitFileState != "disabled" && load.unitFileState != "linked" && load.unitFileState != "linked-runtime")
    {
        return unit + "'s unit file state is \"" + load.unitFileState +
               "\"; only an enabled or a disabled unit file can be enabled.";
    }
    return std::nullopt;
}

// Takes back a symlink this call made, if it is still the one systemd
// reported. True if it is gone. By path: these are systemd's own
// directories, which only root writes.
bool removeLink(const UnitFileChange& link)
{
    std::error_code error;
    if (std::filesystem::read_symlink(link.path, error) != link.destination || error)
    {
        return false;
    }
    return std::filesystem::remove(link.path, error) && !error;
}

} // namespace

void ServerService::exclusive(const ServerRequest& request, const Reply<std::string>& reply,
                              const std::function<void(const Reply<std::string>&)>& steps)
{
    if (!busy_.insert(request.unit).second)
    {
        return reply(OpError(ErrorKind::busy, "Another EnableServer or DisableServer of " + request.unit +
                                                  " is in progress; try again once it has answered."));
    }
    Reply<std::string> freeing = [this, unit = request.unit, reply](Outcome<std::string> outcome) {
        busy_.erase(unit);
        reply(std::move(outcome));
    };
    try
    {
        steps(freeing);
    }
    catch (...)
    {
        // CallServer's boundary answers it; the unit must not stay busy.
        busy_.erase(request.unit);
        throw;
    }
}

void ServerService::enable(const ServerRequest& request, const Reply<std::string>& reply)
{
    exclusive(request, reply, [this, request](const Reply<std::string>& done) {
        systemd_.unitFacts(request.unit, [this, request, done](const SystemdError* error, const UnitFacts& load) {
            if (error != nullptr)
            {
                return done(failed("systemd cannot load " + request.unit + ": " + error->message));
            }
            if (auto why = whyNotEnabled(request, load))
            {
                return done(invalid(*why + " Nothing was enabled."));
            }
            linkInstance(request, done);
        });
    });
}

void ServerService::linkInstance(const ServerRequest& request, const Reply<std::string>& reply)
{
    // Persistent, and replacing no link in the way (an error instead).
    systemd_.enableUnitFiles(
        {request.unit}, false,
        [this, request, reply](const SystemdError* error, const std::vector<UnitFileChange>& changes) {
            if (error != nullptr)
            {
                return reply(failed("Enabling " + request.unit + " failed: " + error->message));
            }
            std::vector<UnitFileChange> links;
            std::vector<std::string> paths;
            for (const auto& change : changes)
            {
                if (change.type == "symlink")
                {
                    links.push_back(change);
                    paths.push_back(change.path);
                }
            }
            auto others = otherNames(paths, request.unit);
            if (others.empty())
            {
                return reloadAndRun(request, true, !links.empty(), reply);
            }
            // The template's Also= or Alias= linked more than the instance:
            // every link this call made goes again. systemd was not reloaded
            // in between, so it is left as it was.
            std::vector<std::string> stuck;
            for (const auto& link : links)
            {
                if (!removeLink(link))
                {
                    stuck.push_back(link.path);
                }
            }
            if (!stuck.empty())
            {
                log::error("Cannot take back the links enabling " + request.unit + " made: " + join(stuck, ", "),
                           {{"UNIT", request.unit}});
                return reply(failed("Enabling " + request.unit + " also linked " + join(others, ", ") +
                                    " (Also= or Alias= in " + request.templateName + "), and taking back " +
                                    join(stuck, ", ") + " failed; remove them by hand."));
            }
            reply(invalid(request.templateName + " links more than the instance: enabling " + request.unit +
                          " would also link " + join(others, ", ") +
                          " (Also= or Alias= in its [Install] section). Only the instance itself may be enabled; "
                          "remove those settings from the template. Nothing was enabled."));
        });
}

void ServerService::disable(const ServerRequest& request, const Reply<std::string>& reply)
{
    exclusive(request, reply, [this, request](const Reply<std::string>& done) {
        systemd_.unitFacts(request.unit, [this, request, done](const SystemdError* error, const UnitFacts& load) {
            if (error != nullptr)
            {
                return done(failed("systemd cannot load " + request.unit + ": " + error->message));
            }
            auto why = load.loadState == "loaded" ? notAnInstance(request, load) : std::nullopt;
            if (why)
            {
                return done(invalid(*why + " Nothing was disabled."));
            }
            unlinkInstance(request, done);
        });
    });
}

void ServerService::unlinkInstance(const ServerRequest& request, const Reply<std::string>& reply)
{
    systemd_.unitFileLinks(
        request.unit, [this, request, reply](const SystemdError* error, const std::vector<std::string>& links) {
            if (error != nullptr)
            {
                return reply(failed("systemd cannot list the links of " + request.unit + ": " + error->message));
            }
            auto others = otherNames(links, request.unit);
            if (!others.empty())
            {
                return reply(invalid("Disabling " + request.unit + " would also remove " + join(others, ", ") +
                                     " (Also= in " + request.templateName +
                                     "). Only the instance itself may be disabled. Nothing was disabled."));
            }
            if (links.empty())
            {
                return reloadAndRun(request, false, false, reply); // not enabled: nothing to unlink
            }
            systemd_.disableUnitFile(request.unit, [this, request, reply](const SystemdError* error) {
                if (error != nullptr)
                {
                    return reply(failed("Disabling " + request.unit + " failed: " + error->message));
                }
                reloadAndRun(request, false, true, reply);
            });
        });
}

void ServerService::reloadAndRun(const ServerRequest& request, bool start, bool changed,
                                 const Reply<std::string>& reply)
{
    auto run = [this, request, start, reply] {
        if (!request.now)
        {
            return finish(request, start, std::nullopt, reply);
        }
        auto queued = [this, request, start, reply](const SystemdError* error, const std::string& job) {
            if (error != nullptr)
            {
                // A unit systemd has not loaded is not running.
                bool stopped = !start && error->name == noSuchUnitError;
                return finish(request, start, stopped ? std::nullopt : std::optional(error->message), reply);
            }
            systemd_.whenJobRemoved(job, [this, request, start, reply](const std::string& result) {
                if (result == "done")
                {
                    return finish(request, start, std::nullopt, reply);
                }
                finish(request, start,
                       result == jobLostResult ? "systemd left the bus before the job ended"
                                               : "its job ended \"" + result + "\"",
                       reply);
            });
        };
        if (start)
        {
            systemd_.startUnit(request.unit, queued);
        }
        else
        {
            systemd_.stopUnit(request.unit, queued);
        }
    };
    if (!changed)
    {
        return run();
    }
    // As systemctl enable and disable do: without it, systemd goes on with
    // the dependencies it read before, until something else reloads it.
    systemd_.reload([request, start, reply, run](const SystemdError* error) {
        if (error != nullptr)
        {
            return reply(failed(request.unit + " is " + (start ? "enabled" : "disabled") +
                                " at boot, but daemon-reload failed: " + error->message));
        }
        run();
    });
}

void ServerService::finish(const ServerRequest& request, bool start, const std::optional<std::string>& runFailure,
                           const Reply<std::string>& reply)
{
    std::string done = start ? "Enabled " : "Disabled ";
    std::string ran;
    if (request.now)
    {
        ran = runFailure ? std::string(start ? "; starting it failed: " : "; stopping it failed: ") + *runFailure
                         : std::string(start ? " and started it" : " and stopped it");
    }
    log::notice(done + request.unit + " at boot for uid " + std::to_string(request.caller) + ran,
                {{"MESSAGE_ID", start ? messageId::serverEnabled : messageId::serverDisabled},
                 {"UNIT", request.unit},
                 {"OBJECT_SYSTEMD_UNIT", request.unit},
                 {"LEFT4ME_TEMPLATE", request.templateName},
                 {"LEFT4ME_INSTANCE", request.instance},
                 {"LEFT4ME_NOW", request.now ? "1" : "0"},
                 {"LEFT4ME_CALLER_UID", std::to_string(request.caller)}});
    if (runFailure)
    {
        return reply(failed(request.unit + " is " + (start ? "enabled" : "disabled") + " at boot, but " +
                            (start ? "starting" : "stopping") + " it failed: " + *runFailure + "; see journalctl -u " +
                            request.unit + "."));
    }
    reply(request.unit);
}

} // namespace left4me
