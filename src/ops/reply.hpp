#pragma once

#include "ops/op_error.hpp"

#include <functional>
#include <utility>
#include <variant>

// The one contract every operation answers by: a plain request in, one
// Reply<T> out, called exactly once with the value or an OpError.
namespace left4me {

// The value of an operation whose success says it all.
struct Done
{
};

template <typename T> class Outcome
{
  public:
    Outcome(T value) : outcome_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
    Outcome(OpError error) : outcome_(std::move(error)) {} // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool ok() const { return std::holds_alternative<T>(outcome_); }
    [[nodiscard]] const T& value() const { return std::get<T>(outcome_); }
    [[nodiscard]] const OpError& error() const { return std::get<OpError>(outcome_); }

  private:
    std::variant<T, OpError> outcome_;
};

template <typename T> using Reply = std::function<void(Outcome<T>)>;

} // namespace left4me
