// Reading the [crust] settings, all derived from the one table of them
// (options.cpp).
// CAF 0.17 drops an INI value whose type does not match its option without
// a word, so the INI file is read a second time, raw, and every [crust] key
// is checked: a typo or a wrong value stops start-up with the key, the
// value and the file named.
#include "crust/config.hpp"
#include "config/options.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>

#include "discovery/io/cache_file.hpp"
#include "crust/errors.hpp"
#include "crust/messages.hpp"

namespace crust {

namespace {

caf::error check_raw_file(const std::string& path) {
  std::ifstream probe{path};
  if (!probe)
    return caf::none; // no config file: defaults and CLI only
  auto parsed = caf::actor_system_config::parse_config_file(path.c_str());
  if (!parsed)
    return make_error(errc::invalid_config,
                      "cannot parse " + path + ": "
                        + caf::to_string(parsed.error()));
  return check_crust_section(*parsed, path);
}

} // namespace


std::string to_text(caf::timespan x) {
  auto ns = x.count();
  if (ns % 1000000000 == 0)
    return std::to_string(ns / 1000000000) + "s";
  if (ns % 1000000 == 0)
    return std::to_string(ns / 1000000) + "ms";
  if (ns % 1000 == 0)
    return std::to_string(ns / 1000) + "us";
  return std::to_string(ns) + "ns";
}

namespace {

// caf::string_view takes literals; build it from run-time text explicitly.
caf::string_view view(const char* x) {
  return {x, std::strlen(x)};
}

} // namespace

config::config() {
  load<caf::io::middleman>();
  // crust's actors run on the multiplexer thread (brokers, and the actors
  // they wake), so the scheduler's workers are mostly idle: under work
  // stealing they poll in 50 us naps, which on a small machine takes CPU
  // from the I/O thread. Shared-queue workers sleep until there is work
  // (crust-bench-peers: bulk +30 %, round trip p50 -50 %). An INI file's
  // scheduler.policy still wins.
  set("scheduler.policy", caf::atom("sharing"));
  crust::add_message_types(*this);
  caf::config_option_adder adder{custom_options_, "crust"};
  for (auto& spec : option_table())
    std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(service_options{}.*member)>;
        if constexpr (std::is_same_v<T, uint16_t> || std::is_same_v<T, uint32_t>)
          adder.add<int64_t>(view(spec.key), view(spec.help));
        else
          adder.add<T>(view(spec.key), view(spec.help));
      },
      spec.field);
}

caf::error validate(const service_options& o) {
  for (auto& spec : option_table())
    if (auto err = check_value(spec, spec.value_in(o)))
      return err;
  if (o.heartbeat_timeout <= o.heartbeat_interval)
    return bad("heartbeat-timeout", to_text(o.heartbeat_timeout),
               "must be longer than crust.heartbeat-interval");
  if (o.min_connections > o.bootstrap_target)
    return bad("min-connections", std::to_string(o.min_connections),
               "must not exceed crust.bootstrap-target ("
                 + std::to_string(o.bootstrap_target) + ")");
  if (o.send_queue_size < o.max_message_size)
    return bad("send-queue-size", std::to_string(o.send_queue_size),
               "must be at least crust.max-message-size ("
                 + std::to_string(o.max_message_size) + ")");
  return caf::none;
}

namespace {

// Reads one setting into `o`, if it is set; its range is checked here
// (the field may be narrower than CAF's int64_t), the rest by validate.
caf::error read_one(const caf::actor_system_config& cfg, const option_spec& spec,
                    service_options& o, bool& present) {
  auto name = std::string{"crust."} + spec.key;
  return std::visit(
    [&](auto member) -> caf::error {
      using T = std::decay_t<decltype(o.*member)>;
      if constexpr (std::is_same_v<T, uint16_t> || std::is_same_v<T, uint32_t>) {
        auto v = caf::get_if<int64_t>(&cfg, name);
        if (!v)
          return caf::none;
        present = true;
        if (auto err = check_value(spec, caf::config_value{*v}))
          return err;
        if (*v < 0 || static_cast<uint64_t>(*v) > std::numeric_limits<T>::max())
          return bad(spec.key, std::to_string(*v), "is out of range");
        o.*member = static_cast<T>(*v);
      } else {
        auto v = caf::get_if<T>(&cfg, name);
        if (!v)
          return caf::none;
        present = true;
        o.*member = *v;
      }
      return caf::none;
    },
    spec.field);
}

} // namespace

caf::expected<service_options> read_options(const caf::actor_system_config& cfg) {
  if (auto err = check_raw_file(cfg.config_file_path))
    return err;
  service_options o;
  bool cache_file_set = false;
  for (auto& spec : option_table()) {
    bool present = false;
    if (auto err = read_one(cfg, spec, o, present))
      return err;
    if (spec.field == option_field{&service_options::bootstrap_cache_file})
      cache_file_set = present;
  }
  // Absent: the default place; present but empty: no persistence.
  if (!cache_file_set)
    o.bootstrap_cache_file = default_cache_path(o.network_name);
  if (auto err = validate(o))
    return err;
  return o;
}

} // namespace crust
