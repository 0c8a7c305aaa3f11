#pragma once

// The one place an a{sv} option dictionary leaves sdbus-c++: its
// signatures, for validate::options, and its values in plain types, for the
// pure parsers. Kept out of the adaptor so that a fuzz target runs the very
// conversion a call goes through.
#include "ops/options.hpp"

#include <sdbus-c++/Types.h>

#include <map>
#include <string>

namespace left4me {

// KEY -> the D-Bus signature of its value, as the caller sent it.
std::map<std::string, std::string> optionSignatures(const std::map<std::string, sdbus::Variant>& options);

// The values of OPTIONS in plain types. Call only after validate::options
// has checked the signatures: a value of any other type is left out.
PlainOptions plainOptions(const std::map<std::string, sdbus::Variant>& options);

// OPTIONS checked against TABLE (each key known, each value of its type)
// and converted. Throws OpError (invalidArgument) naming the key and the
// rule. Every method's options come through here.
PlainOptions decodeOptions(const std::map<std::string, sdbus::Variant>& options, const OptionTable& table);

} // namespace left4me
