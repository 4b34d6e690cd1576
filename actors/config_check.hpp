// The [crust] settings' keys and the checks of their values (config_keys.cpp),
// shared by read_options and validate (service_config.cpp) and by the
// config fuzzer. Applications call crust::read_options.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <caf/error.hpp>
#include <caf/settings.hpp>
#include <caf/timespan.hpp>

namespace crust {

enum class kind { text, integer, duration, text_list, boolean };

struct key_spec {
  kind k;
  const char* help;
};

/// The one list of [crust] keys; crust::config declares these options.
const std::map<std::string, key_spec>& known_keys();

/// An error naming key, value, why, and the file when there is one.
caf::error bad(const std::string& key, const std::string& value,
               const std::string& why, const std::string& file = {});

caf::error check_integer(const std::string& key, int64_t v,
                         const std::string& file);
caf::error check_duration(const std::string& key, caf::timespan v,
                          const std::string& file);
caf::error check_text(const std::string& key, const std::string& v,
                      const std::string& file);
/// An admission entry: a peer id, an IP address or a CIDR range.
caf::error check_entry(const std::string& key, const std::string& v,
                       const std::string& file);
/// An item of a list setting (contacts, beacon-targets, allow-only).
caf::error check_list_item(const std::string& key, const std::string& v,
                           const std::string& file);

/// Refuses unknown keys, values of the wrong kind and out-of-range values,
/// naming key, value and `path`.
caf::error check_crust_section(const caf::settings& parsed,
                               const std::string& path);

} // namespace crust
