// left4me-builderd: the privileged side of left4me. Everything below main()
// lives in the static library, so the tests link exactly the same code.
#include "auth/authorizer.hpp"
#include "builds/build_service.hpp"
#include "bus/manager_object.hpp"
#include "bus/names.hpp"
#include "config.h"
#include "daemon/idle_exit.hpp"
#include "daemon/refuse_calls.hpp"
#include "loop/bus_source.hpp"
#include "loop/glib_source.hpp"
#include "mounts/mount_service.hpp"
#include "servers/server_service.hpp"
#include "systemd/systemd_client.hpp"
#include "util/config.hpp"
#include "util/gobject_ptr.hpp"
#include "util/log.hpp"

#include <glib-unix.h>
#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void usage()
{
    std::printf("Usage: left4me-builderd [--config=FILE] [--check-config] [--version]\n\n"
                "Publishes org.left4me.Builder on the system bus. Normally started by D-Bus activation\n"
                "through left4me-builderd.service; see left4me-builderd(8).\n\n"
                "  --config=FILE   read FILE instead of %s\n"
                "  --check-config  validate the configuration and exit\n"
                "  --version       print the version and exit\n",
                LEFT4ME_CONFIG_FILE);
}

// Gives up the bus name at idle exit. STOPPING=1 goes first, so that systemd
// queues the activations of later calls until we have exited rather than
// taking us for still running. The name must go even if a signal arrives
// meanwhile: systemd 252's sd_bus_call() then gives up with EINTR (fixed
// upstream in v253), so ask again. A request that got through the first time
// makes the second answer "not the owner", which is what we want too.
void releaseBusName(sdbus::IConnection& bus)
{
    (void)sd_notify(0, "STOPPING=1");
    bool interrupted = false;
    while (true)
    {
        try
        {
            bus.releaseName(left4me::names::busName);
            return;
        }
        catch (const sdbus::Error& e)
        {
            if (e.getName() == "System.Error.EINTR")
            {
                interrupted = true;
                continue;
            }
            if (interrupted && (e.getName() == "System.Error.EADDRINUSE" || e.getName() == "System.Error.ESRCH"))
            {
                return;
            }
            // Exiting releases it anyway; until then queued calls are served.
            left4me::log::warning(std::string("Could not release the bus name: ") + e.what());
            return;
        }
    }
}

int run(const left4me::Config& config)
{
    using namespace left4me;
    GMainLoopPtr loop(g_main_loop_new(nullptr, FALSE));
    auto bus = sdbus::createSystemBusConnection();
    BusSource source(*bus, [loop = loop.get()] {
        log::error("Lost the connection to the system bus; exiting");
        g_main_loop_quit(loop);
    });
    SystemdClient systemd(*bus);
    systemd.subscribe();
    Authorizer authorizer{std::chrono::seconds(config.polkitTimeoutSec),
                          std::chrono::seconds(config.polkitInteractiveTimeoutSec)};
    BuildService builds(config, {LEFT4ME_STATE_DIR, LEFT4ME_RUNTIME_DIR}, systemd);
    MountService mounts(config, {LEFT4ME_STATE_DIR, LEFT4ME_RUNTIME_DIR, LEFT4ME_UNIT_DIR}, systemd);
    mounts.recover();
    CapsService caps(config, LEFT4ME_STATE_DIR "/caps-pending");
    caps.recover();
    UnitsService units(config, {LEFT4ME_STATE_DIR "/addon-units", LEFT4ME_UNIT_DIR, "/run/systemd/system"}, systemd);
    units.recover();
    ServerService servers(systemd);
    IdleExit idle(
        config.idleTimeoutSec, loop.get(),
        [&] { return builds.running() > 0 || authorizer.pending() > 0 || mounts.busy() || units.busy(); },
        [&] { releaseBusName(*bus); });
    ManagerObject manager(*bus, config, authorizer, builds, mounts, caps, units, servers, idle);
    // After the bus objects' hooks are set, so that recovered jobs are
    // published like new ones.
    builds.recover();
    // On SIGTERM, a build whose unit runs but whose overlay is not bound yet
    // is waiting for this daemon (only it can idmap the overlay for the
    // build's dynamic user, known once the unit runs): bind those first, a
    // bounded while, then leave the rest running for the next daemon.
    GlibSource draining;
    auto quit = [&] {
        constexpr std::chrono::milliseconds step{50};
        constexpr unsigned steps = 100; // 5 s
        draining = GlibSource::timeout(step, [&, waited = 0U]() mutable {
            if (builds.awaitingOverlay() > 0 && waited++ < steps)
            {
                return true;
            }
            g_main_loop_quit(loop.get());
            return false;
        });
        return true;
    };
    auto onTerm = GlibSource::unixSignal(SIGTERM, quit);
    auto onInt = GlibSource::unixSignal(SIGINT, quit);
    // The name comes last: the first queued call must find every object,
    // and is answered as soon as the name is ours (a cold activation waits
    // for exactly this), not after more set-up; nor can a SIGTERM that
    // follows the name find the default action still in place.
    bus->requestName(names::busName);

    // READY=1 and the journal line wait for the loop's first pass, which
    // takes the calls queued for the name: a cold activation waits for the
    // first reply, and systemd answers READY=1 with a burst of job and unit
    // signals that the bus and the CPUs would otherwise take first (name to
    // first reply: 0.99 ms before, 0.25 ms after; P3 in BENCHMARKS.md). At
    // default priority, not idle: a stream of calls must not hold READY=1
    // back past the start timeout.
    auto ready = GlibSource::idle(
        [] {
            log::info("left4me-builderd " LEFT4ME_VERSION " ready on the system bus");
            (void)sd_notify(0, "READY=1");
            return false;
        },
        G_PRIORITY_DEFAULT);
    g_main_loop_run(loop.get());
    (void)sd_notify(0, "STOPPING=1");
    log::info("left4me-builderd exiting");
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    std::string configPath = LEFT4ME_CONFIG_FILE;
    bool checkOnly = false;
    for (int i = 1; i < argc; ++i)
    {
        std::string arg = argv[i];
        if (arg.rfind("--config=", 0) == 0)
        {
            configPath = arg.substr(9);
        }
        else if (arg == "--check-config")
        {
            checkOnly = true;
        }
        else if (arg == "--version")
        {
            std::printf("left4me-builderd %s\n", LEFT4ME_VERSION);
            return 0;
        }
        else if (arg == "--help" || arg == "-h")
        {
            usage();
            return 0;
        }
        else
        {
            std::fprintf(stderr, "left4me-builderd: unknown argument \"%s\"; see --help\n", arg.c_str());
            return 2;
        }
    }

    left4me::Config config;
    try
    {
        config = left4me::loadConfig(configPath);
    }
    catch (const left4me::ConfigError& e)
    {
        // Both: stderr for whoever ran us by hand, the journal for the admin.
        std::fprintf(stderr, "left4me-builderd: %s\n", e.what());
        left4me::log::error(std::string("Refusing to start: ") + e.what(), {{"CONFIG_FILE", configPath}});
        if (!checkOnly && std::getenv("INVOCATION_ID") != nullptr)
        {
            // Started by systemd, most likely for a call: answer it now. The
            // file's contents stay in the journal, not in a reply to anyone.
            left4me::refuseCalls(left4me::names::error::failed,
                                 "left4me-builderd cannot start: its configuration file " + configPath +
                                     " is invalid. An administrator can see why with \"journalctl -u "
                                     "left4me-builderd\" or \"left4me-builderd --check-config\".");
        }
        return 78; // EX_CONFIG: the unit does not restart on this
    }
    if (checkOnly)
    {
        std::printf("%s: OK\n", configPath.c_str());
        return 0;
    }
    try
    {
        return run(config);
    }
    catch (const std::exception& e)
    {
        left4me::log::error(std::string("Fatal: ") + e.what());
        std::fprintf(stderr, "left4me-builderd: %s\n", e.what());
        return 1;
    }
}
