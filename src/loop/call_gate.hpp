#pragma once

#include <cstddef>
#include <deque>
#include <functional>

namespace left4me {

// Lets at most LIMIT operations be under way at once; the others wait their
// turn in the order they came. The owner reports each end with finished().
// Pure, so that the order is unit-tested without a bus.
class CallGate
{
  public:
    explicit CallGate(std::size_t limit) : limit_(limit) {}

    // Runs START now if there is room, or once an earlier one finishes.
    void submit(std::function<void()> start)
    {
        if (running_ >= limit_)
        {
            waiting_.push_back(std::move(start));
            return;
        }
        ++running_;
        start();
    }

    // One operation ended: the oldest waiting one starts, from here.
    void finished()
    {
        --running_;
        if (!waiting_.empty() && running_ < limit_)
        {
            auto start = std::move(waiting_.front());
            waiting_.pop_front();
            ++running_;
            start();
        }
    }

    [[nodiscard]] std::size_t running() const { return running_; }
    [[nodiscard]] std::size_t waiting() const { return waiting_.size(); }

  private:
    std::size_t limit_;
    std::size_t running_ = 0;
    std::deque<std::function<void()>> waiting_;
};

} // namespace left4me
