#pragma once

#include <cstdint>
#include <ctime>

namespace left4me::clock {

// Microseconds since the epoch, the unit of CreatedAt and FinishedAt.
inline uint64_t realtimeUsec()
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000U + static_cast<uint64_t>(ts.tv_nsec) / 1000U;
}

// Microseconds on CLOCK_MONOTONIC, for intervals.
inline uint64_t monotonicUsec()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000U + static_cast<uint64_t>(ts.tv_nsec) / 1000U;
}

} // namespace left4me::clock
