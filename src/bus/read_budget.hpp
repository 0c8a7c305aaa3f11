#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>

namespace left4me {

// How much log text each caller, by uid, may read through ReadLog, which
// anyone on the bus may call and which costs the one event loop up to 8 MiB
// of reading and marshalling per call: a bucket of bytes per uid, full at
// `burst` (a whole default-sized log at once), refilled at `rate` per
// second. A caller past its budget is served later, not refused, so that
// clients reading page after page are only slowed; only a caller with
// `maxWaiting` calls already held is refused. Pure: the caller passes the
// time.
class ReadBudget
{
  public:
    static constexpr uint64_t defaultRate = uint64_t{16} << 20U;  // bytes per second
    static constexpr uint64_t defaultBurst = uint64_t{64} << 20U; // bytes
    static constexpr unsigned defaultMaxWaiting = 4;

    explicit ReadBudget(uint64_t rate = defaultRate, uint64_t burst = defaultBurst,
                        unsigned maxWaiting = defaultMaxWaiting);

    // Microseconds until UID may be served (0: now), at NOW_USEC
    // (CLOCK_MONOTONIC).
    [[nodiscard]] uint64_t waitUsec(uid_t uid, uint64_t nowUsec);
    // UID was served BYTES at NOW_USEC: its bucket may go below empty, and
    // it then waits until it has refilled to zero.
    void spend(uid_t uid, uint64_t bytes, uint64_t nowUsec);
    // Holds one more call of UID until its turn; false when it already has
    // maxWaiting held.
    [[nodiscard]] bool hold(uid_t uid);
    void release(uid_t uid);

  private:
    struct Bucket
    {
        double tokens = 0;
        uint64_t atUsec = 0;
        unsigned waiting = 0;
    };
    Bucket& refilled(uid_t uid, uint64_t nowUsec);

    double rate_;
    double burst_;
    unsigned maxWaiting_;
    // One per uid that read lately; a full bucket with nothing held is the
    // same as none, so those go when the map grows.
    std::map<uid_t, Bucket> buckets_;
};

} // namespace left4me
