#pragma once

#include <cstddef>
#include <iterator>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace left4me {

// A map from strings that holds at most `capacity` entries and, when full,
// forgets the entry put longest ago. For caches of names the bus hands out
// once and never again (unique bus names, systemd job paths): they are
// looked up soon after they are put or never, so the oldest is the one to
// lose. Order is kept by insertion, not by the key's sort order:
// "/job/10000" sorts before "/job/9999", and evicting by sort order would
// forget the newest. Each key is stored once: the index views the key in
// its list node, which never moves.
template <typename Value> class BoundedMap
{
  public:
    explicit BoundedMap(std::size_t capacity) : capacity_(capacity) {}

    // Puts KEY as the newest entry, replacing any value it had.
    void put(const std::string& key, Value value)
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
        auto newest = std::prev(entries_.end());
        index_.emplace(std::string_view(newest->first), newest);
    }

    [[nodiscard]] const Value* find(std::string_view key) const
    {
        auto it = index_.find(key);
        return it == index_.end() ? nullptr : &it->second->second;
    }

    // Removes KEY and returns its value, if it was there.
    std::optional<Value> take(std::string_view key)
    {
        auto it = index_.find(key);
        if (it == index_.end())
        {
            return std::nullopt;
        }
        auto node = it->second;
        std::optional<Value> value(std::move(node->second));
        index_.erase(it); // before the node, whose key the index views
        entries_.erase(node);
        return value;
    }

    [[nodiscard]] std::size_t size() const { return entries_.size(); }

  private:
    void erase(std::string_view key)
    {
        if (auto it = index_.find(key); it != index_.end())
        {
            auto node = it->second;
            index_.erase(it);
            entries_.erase(node);
        }
    }

    std::size_t capacity_;
    using Entries = std::list<std::pair<std::string, Value>>;
    Entries entries_; // oldest first
    std::unordered_map<std::string_view, typename Entries::iterator> index_;
};

} // namespace left4me
