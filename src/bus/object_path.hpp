#pragma once

#include <string>

namespace left4me {

// PREFIX/NAME with NAME escaped as sd_bus_path_encode does (every byte but
// an ASCII letter or digit, and a digit at the start, as _xx): the paths of
// the objects published per instance or add-on.
std::string encodedPath(const char* prefix, const std::string& name);

} // namespace left4me
