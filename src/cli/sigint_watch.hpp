#pragma once

// Runs a callback on the main loop for each SIGINT while it exists, instead
// of the default of dying: `build` turns Ctrl-C into a Cancel of its job.
#include "loop/glib_source.hpp"

#include <csignal>
#include <functional>

namespace left4me::cli {

class SigintWatch
{
  public:
    explicit SigintWatch(std::function<void()> callback)
        : source_(GlibSource::unixSignal(SIGINT, [callback = std::move(callback)] {
              callback();
              return true;
          }))
    {
    }
    SigintWatch(const SigintWatch&) = delete;
    SigintWatch& operator=(const SigintWatch&) = delete;
    ~SigintWatch() = default;

  private:
    GlibSource source_;
};

} // namespace left4me::cli
