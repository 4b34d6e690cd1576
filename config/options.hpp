// The one table of [crust] settings: each key with the field of
// service_options it sets, its help text and the rule its value obeys.
// Its kind follows from the field's type and its default from
// service_options{}; CAF's option declarations (crust::config), reading
// (read_options), validation (validate), the raw INI check and every
// error message are derived from it (config.cpp). Adding a
// setting is one row here and one field in include/crust/config.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <caf/config_value.hpp>
#include <caf/error.hpp>
#include <caf/settings.hpp>
#include <caf/timespan.hpp>

#include "crust/config.hpp"

namespace crust {

/// The field a setting fills.
using option_field
  = std::variant<std::string service_options::*, uint16_t service_options::*,
                 uint32_t service_options::*, caf::timespan service_options::*,
                 bool service_options::*,
                 std::vector<std::string> service_options::*>;

enum class option_kind { text, integer, duration, boolean, text_list };

/// What a value must be beyond its kind.
enum class option_rule {
  none,
  range,        // integers: lo..hi
  positive,     // durations: more than zero
  lease,        // durations: 60s..168h (gateways count whole seconds)
  off_or_at_least_1s, // durations: 0 (off) or 1s and more
  off_or_positive,    // durations: 0 (off) or more
  transport,    // "tcp" or "udp"
  network_name, // 1 to 64 bytes
  entry,        // list items: a peer id, an IP address or a CIDR range
  endpoint,     // list items: tcp://, udp:// (optionally #PEERID)
  host_port,    // list items: HOST:PORT
  udp_target,   // list items: an IPv4 address and port
};

struct option_spec {
  const char* key;
  const char* help;
  option_field field;
  option_rule rule = option_rule::none;
  int64_t lo = 0;
  int64_t hi = 0;

  option_kind kind() const;

  /// The value `opts` holds, as an INI file writes it.
  caf::config_value value_in(const service_options& opts) const;

  /// The default (service_options{}), as an INI file writes it.
  caf::config_value default_value() const;
};

/// Every setting, in the order of configs/caf-application.ini.
const std::vector<option_spec>& option_table();

/// The setting `key` (without "crust."), or null.
const option_spec* find_option(const std::string& key);

/// An error naming key, value, why, and the file when there is one.
caf::error bad(const std::string& key, const std::string& value,
               const std::string& why, const std::string& file = {});

/// Checks one value of `spec` against its rule (list settings: one item).
caf::error check_value(const option_spec& spec, const caf::config_value& v,
                       const std::string& file = {});

/// Refuses unknown keys, values of the wrong kind and out-of-range values
/// in a parsed INI file, naming key, value and `path`.
caf::error check_crust_section(const caf::settings& parsed,
                               const std::string& path);

} // namespace crust
