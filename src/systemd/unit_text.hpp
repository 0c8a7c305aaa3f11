#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

// Strings written into unit files, escaped the way systemd reads them back.
// A unit file is parsed: '%' starts a specifier (%E is /etc), a line break
// starts another setting, surrounding blanks are dropped, and list settings
// split on blanks and take quotes. Values written through the D-Bus API
// (StartTransientUnit, SetUnitProperties) are taken literally and systemd
// escapes them itself when it persists them; these are for files the
// daemon writes. Pure.
namespace left4me::unit {

// A value a string can never safely be (a control character, or blanks
// around it that systemd would strip). The caller refuses the request.
class UnwritableValue : public std::invalid_argument
{
  public:
    using std::invalid_argument::invalid_argument;
};

// VALUE for a setting systemd reads whole, with specifiers (Where=,
// Options=, Description=): every '%' doubled. Throws UnwritableValue.
std::string settingValue(std::string_view value);

// VALUE as one word of a blank-separated list setting (RequiresMountsFor=):
// double-quoted, '\' and '"' escaped with '\', '%' doubled. Throws
// UnwritableValue.
std::string listWord(std::string_view value);

} // namespace left4me::unit
