#pragma once

// Runs a callback on the main loop for each SIGINT while it exists, instead
// of the default of dying: `build` turns Ctrl-C into a Cancel of its job.
#include "loop/glib_source.hpp"

#include <glib-unix.h>

#include <csignal>
#include <functional>

namespace left4me::cli {

class SigintWatch
{
  public:
    explicit SigintWatch(std::function<void()> callback) : callback_(std::move(callback))
    {
        source_.reset(g_unix_signal_add(
            SIGINT,
            [](gpointer data) -> gboolean {
                static_cast<SigintWatch*>(data)->callback_();
                return G_SOURCE_CONTINUE;
            },
            this));
    }
    SigintWatch(const SigintWatch&) = delete;
    SigintWatch& operator=(const SigintWatch&) = delete;
    ~SigintWatch() = default;

  private:
    std::function<void()> callback_;
    GlibSource source_; // last: removed before the callback goes
};

} // namespace left4me::cli
