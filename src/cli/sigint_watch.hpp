#pragma once

// Runs a callback on the main loop for each SIGINT while it exists, instead
// of the default of dying: `build` turns Ctrl-C into a Cancel of its job.
#include <glib-unix.h>

#include <csignal>
#include <functional>

namespace left4me::cli {

class SigintWatch
{
  public:
    explicit SigintWatch(std::function<void()> callback) : callback_(std::move(callback))
    {
        id_ = g_unix_signal_add(
            SIGINT,
            [](gpointer data) -> gboolean {
                static_cast<SigintWatch*>(data)->callback_();
                return G_SOURCE_CONTINUE;
            },
            this);
    }
    SigintWatch(const SigintWatch&) = delete;
    SigintWatch& operator=(const SigintWatch&) = delete;
    ~SigintWatch() { g_source_remove(id_); }

  private:
    std::function<void()> callback_;
    guint id_ = 0;
};

} // namespace left4me::cli
