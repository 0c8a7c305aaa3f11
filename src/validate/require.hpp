#pragma once

#include "ops/op_error.hpp"
#include "validate/arguments.hpp"

#include <string>

namespace left4me {

// Refuses a call whose ARGUMENT broke a rule: InvalidArgument, with a
// sentence naming the argument and the rule (PROBLEM, from validate::).
inline void require(const char* argument, const validate::Problem& problem)
{
    if (problem)
    {
        throw OpError(ErrorKind::invalidArgument, std::string("Argument ") + argument + ": " + *problem + ".");
    }
}

} // namespace left4me
