#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The records the daemon keeps on disk (jobs, mounts, ApplyCaps intents),
// written and read by one pair of rules: a record is exactly what this
// daemon wrote, or it is unreadable and left alone, never guessed. A field
// missing or of another type, an integer that is not exact or not in its
// type's range (nlohmann would turn 1.5 into 1, or 4294967296 into 0),
// anything unexpected makes the whole record unreadable.
namespace left4me {

class RecordError : public std::runtime_error
{
  public:
    using std::runtime_error::runtime_error;
};

class RecordReader
{
  public:
    // Throws RecordError unless TEXT is a JSON object.
    explicit RecordReader(std::string_view text);

    [[nodiscard]] bool has(const char* key) const { return doc_.contains(key) && !doc_.at(key).is_null(); }
    [[nodiscard]] std::string string(const char* key) const;
    [[nodiscard]] bool boolean(const char* key) const;
    [[nodiscard]] double number(const char* key) const;
    [[nodiscard]] std::vector<std::string> strings(const char* key) const;
    template <typename T> [[nodiscard]] T integer(const char* key) const
    {
        const auto& value = at(key);
        if (value.is_number_unsigned() && std::in_range<T>(value.get<uint64_t>()))
        {
            return static_cast<T>(value.get<uint64_t>());
        }
        if (value.is_number_integer() && !value.is_number_unsigned() && std::in_range<T>(value.get<int64_t>()))
        {
            return static_cast<T>(value.get<int64_t>());
        }
        throw RecordError(std::string("\"") + key + "\" is not an integer in range");
    }

  private:
    [[nodiscard]] const nlohmann::json& at(const char* key) const;
    nlohmann::json doc_;
};

// READ(reader) over TEXT; nullopt for a record it cannot read.
template <typename Read>
auto readRecord(std::string_view text, Read read) -> std::optional<decltype(read(std::declval<const RecordReader&>()))>
{
    try
    {
        return read(RecordReader(text));
    }
    catch (const RecordError&)
    {
        return std::nullopt;
    }
}

// DOC as a record file's text: indented, one trailing newline, and bytes
// that are not UTF-8 replaced rather than refused (a record of a job whose
// status text held them must still be written).
std::string recordText(const nlohmann::json& doc);

// Binary as lowercase hex, and back (nullopt for anything else): xattrs and
// symlink targets are bytes, JSON strings are UTF-8.
std::string toHex(std::string_view bytes);
std::optional<std::string> fromHex(std::string_view hex);

} // namespace left4me
