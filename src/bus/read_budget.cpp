#include "bus/read_budget.hpp"

#include <algorithm>
#include <cmath>

namespace left4me {

namespace {

constexpr double usecPerSec = 1e6;
constexpr std::size_t pruneAt = 1024;

} // namespace

ReadBudget::ReadBudget(uint64_t rate, uint64_t burst, unsigned maxWaiting)
    : rate_(static_cast<double>(rate)), burst_(static_cast<double>(burst)), maxWaiting_(maxWaiting)
{
}

ReadBudget::Bucket& ReadBudget::refilled(uid_t uid, uint64_t nowUsec)
{
    if (buckets_.size() >= pruneAt && buckets_.count(uid) == 0)
    {
        std::erase_if(buckets_, [&](auto& entry) {
            auto& b = entry.second;
            return b.waiting == 0 &&
                   b.tokens + static_cast<double>(nowUsec - std::min(nowUsec, b.atUsec)) * rate_ / usecPerSec >= burst_;
        });
    }
    auto [it, added] = buckets_.try_emplace(uid);
    auto& bucket = it->second;
    if (added)
    {
        bucket.tokens = burst_;
    }
    else if (nowUsec > bucket.atUsec)
    {
        bucket.tokens =
            std::min(burst_, bucket.tokens + static_cast<double>(nowUsec - bucket.atUsec) * rate_ / usecPerSec);
    }
    bucket.atUsec = std::max(bucket.atUsec, nowUsec);
    return bucket;
}

uint64_t ReadBudget::waitUsec(uid_t uid, uint64_t nowUsec)
{
    const auto& bucket = refilled(uid, nowUsec);
    if (bucket.tokens >= 0)
    {
        return 0;
    }
    return static_cast<uint64_t>(std::ceil(-bucket.tokens / rate_ * usecPerSec));
}

void ReadBudget::spend(uid_t uid, uint64_t bytes, uint64_t nowUsec)
{
    refilled(uid, nowUsec).tokens -= static_cast<double>(bytes);
}

bool ReadBudget::hold(uid_t uid)
{
    auto& bucket = buckets_[uid];
    if (bucket.waiting >= maxWaiting_)
    {
        return false;
    }
    ++bucket.waiting;
    return true;
}

void ReadBudget::release(uid_t uid)
{
    if (auto it = buckets_.find(uid); it != buckets_.end() && it->second.waiting > 0)
    {
        --it->second.waiting;
    }
}

} // namespace left4me
