// The raw check of a parsed INI file's [crust] section (exposed for the
// config fuzzer; applications call crust::read_options).
#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/settings.hpp>

namespace crust {

/// Refuses unknown keys, values of the wrong kind and out-of-range values,
/// naming key, value and `path`.
caf::error check_crust_section(const caf::settings& parsed,
                               const std::string& path);

} // namespace crust
