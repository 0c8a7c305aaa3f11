#pragma once

#include "ops/reply.hpp"
#include "servers/server_request.hpp"
#include "systemd/systemd.hpp"

#include <functional>
#include <optional>
#include <set>
#include <string>

namespace left4me {

// EnableServer and DisableServer: instances of the configured server
// templates enabled and disabled at boot, and with `now` started and
// stopped, through systemd's own calls (the daemon is root: systemd asks
// polkit nothing of it). Only the instance itself is ever linked: no
// alias, no Also= unit, no other name.
class ServerService
{
  public:
    explicit ServerService(Systemd& systemd) : systemd_(systemd) {}

    // Loads the instance and refuses (InvalidArgument, nothing changed) one
    // whose template is missing, masked, broken or an alias, or has no
    // [Install] section; then enables it, undoes the enabling if systemd
    // linked any other name, reloads systemd, and with `now` starts it and
    // waits for the start job. Answers the unit; Failed when systemd fails
    // a step (named).
    void enable(const ServerRequest& request, const Reply<std::string>& reply);

    // Disables the instance (an instance that is not enabled is no error),
    // reloads systemd, and with `now` stops it and waits for the stop job.
    // Refused, nothing changed, if disabling would remove any link but the
    // instance's own (an Also= unit), or if the name is an alias.
    void disable(const ServerRequest& request, const Reply<std::string>& reply);

  private:
    // Answers Busy while another call works on REQUEST's unit; else runs
    // STEPS with a Reply that frees the unit once answered.
    void exclusive(const ServerRequest& request, const Reply<std::string>& reply,
                   const std::function<void(const Reply<std::string>&)>& steps);
    void linkInstance(const ServerRequest& request, const Reply<std::string>& reply);
    void unlinkInstance(const ServerRequest& request, const Reply<std::string>& reply);
    // Reloads systemd if the links CHANGED, then with `now` starts (START)
    // or stops the unit and waits for its job; then finishes.
    void reloadAndRun(const ServerRequest& request, bool start, bool changed, const Reply<std::string>& reply);
    // Logs the one journal line of the call and answers: Failed if the
    // start or stop asked for with `now` failed (RUN_FAILURE says why).
    void finish(const ServerRequest& request, bool start, const std::optional<std::string>& runFailure,
                const Reply<std::string>& reply);

    Systemd& systemd_;
    std::set<std::string> busy_;
};

} // namespace left4me
