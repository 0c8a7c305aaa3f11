#pragma once

#include <cstddef>
#include <iterator>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace left4me {

// A map that holds at most `capacity` entries and, when full, forgets the
// entry put longest ago. For caches of things the bus names once and never
// again (unique bus names, systemd job paths): they are looked up soon
// after they are put or never, so the oldest is the one to lose. Order is
// kept by insertion, not by the key's sort order: "/job/10000" sorts before
// "/job/9999", and evicting by sort order would forget the newest.
template <typename Key, typename Value> class BoundedMap
{
  public:
    explicit BoundedMap(std::size_t capacity) : capacity_(capacity) {}

    // Puts KEY as the newest entry, replacing any value it had.
    void put(const Key& key, Value value)
    {
        erase(key);
        if (capacity_ == 0)
        {
            return;
        }
        if (entries_.size() >= capacity_)
        {
            index_.erase(entries_.front().first);
            entries_.pop_front();
        }
        entries_.emplace_back(key, std::move(value));
        index_.emplace(key, std::prev(entries_.end()));
    }

    [[nodiscard]] const Value* find(const Key& key) const
    {
        auto it = index_.find(key);
        return it == index_.end() ? nullptr : &it->second->second;
    }

    // Removes KEY and returns its value, if it was there.
    std::optional<Value> take(const Key& key)
    {
        auto it = index_.find(key);
        if (it == index_.end())
        {
            return std::nullopt;
        }
        std::optional<Value> value(std::move(it->second->second));
        entries_.erase(it->second);
        index_.erase(it);
        return value;
    }

    [[nodiscard]] std::size_t size() const { return entries_.size(); }

  private:
    void erase(const Key& key)
    {
        if (auto it = index_.find(key); it != index_.end())
        {
            entries_.erase(it->second);
            index_.erase(it);
        }
    }

    std::size_t capacity_;
    std::list<std::pair<Key, Value>> entries_; // oldest first
    std::unordered_map<Key, typename std::list<std::pair<Key, Value>>::iterator> index_;
};

} // namespace left4me
