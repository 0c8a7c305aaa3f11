#pragma once

// Merges a replay (ReadLog) and live Log signals into one stream with no gap
// and no duplicate. The client subscribes first, replays, then feeds every
// signal through here; signals overlap the replay or arrive out of reach of
// it, and the cursor says which lines are new and whether some are missing.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace left4me::cli {

class LogCursor
{
  public:
    explicit LogCursor(uint64_t from = 0) : next_(from) {}

    // The number of the next line the client has not seen.
    [[nodiscard]] uint64_t next() const { return next_; }

    // True if a batch starting at FIRST leaves lines out: they must be read
    // with ReadLog from next() before the batch is taken.
    [[nodiscard]] bool gapBefore(uint64_t first) const { return first > next_; }

    // The lines of the batch (FIRST, LINES) the client has not seen yet, and
    // advances past them. Call only when !gapBefore(first).
    std::span<const std::string> take(uint64_t first, std::span<const std::string> lines);

  private:
    uint64_t next_;
};

} // namespace left4me::cli
