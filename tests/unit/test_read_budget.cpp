#include "bus/read_budget.hpp"

#include <doctest/doctest.h>

using left4me::ReadBudget;

TEST_CASE("a caller reads its burst at once, then waits at the budget's rate, and others are not held up")
{
    constexpr uint64_t mib = uint64_t{1} << 20U;
    ReadBudget budget(16 * mib, 64 * mib, 2);
    uint64_t now = 1000000;
    for (int i = 0; i < 8; ++i)
    {
        CHECK(budget.waitUsec(1000, now) == 0);
        budget.spend(1000, 8 * mib, now);
    }
    // 64 MiB spent: the bucket is empty, not below, so one more is served...
    CHECK(budget.waitUsec(1000, now) == 0);
    budget.spend(1000, 8 * mib, now);
    // ...and the next waits until 8 MiB have come back at 16 MiB/s.
    CHECK(budget.waitUsec(1000, now) == 500000);
    CHECK(budget.waitUsec(1000, now + 250000) == 250000);
    CHECK(budget.waitUsec(1000, now + 500000) == 0);
    // Another uid has its own budget.
    CHECK(budget.waitUsec(1001, now) == 0);
}

TEST_CASE("a caller may have only so many calls held")
{
    ReadBudget budget(1, 1, 2);
    (void)budget.waitUsec(7, 0);
    CHECK(budget.hold(7));
    CHECK(budget.hold(7));
    CHECK_FALSE(budget.hold(7));
    budget.release(7);
    CHECK(budget.hold(7));
    (void)budget.waitUsec(8, 0);
    CHECK(budget.hold(8));
}

TEST_CASE("a bucket never fills past its burst, however long the caller was away")
{
    ReadBudget budget(10, 100, 1);
    (void)budget.waitUsec(1, 0);
    budget.spend(1, 100, 0);
    CHECK(budget.waitUsec(1, 3600000000ULL) == 0);
    budget.spend(1, 150, 3600000000ULL);
    CHECK(budget.waitUsec(1, 3600000000ULL) == 5000000); // 50 bytes short at 10 bytes/s
}
