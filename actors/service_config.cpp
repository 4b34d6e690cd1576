// Reading the [crust] settings (their keys and checks: config_keys.cpp).
// CAF 0.17 drops an INI value whose type does not match its option without
// a word, so the INI file is read a second time, raw, and every [crust] key
// is checked: a typo or a wrong value stops start-up with the key, the
// value and the file named.
#include "crust/config.hpp"
#include "actors/config_check.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>

#include "transports/cache_file.hpp"
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
caf::string_view view(const std::string& x) {
  return {x.data(), x.size()};
}

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
  for (auto& [key, spec] : known_keys()) {
    switch (spec.k) {
      case kind::text:
        adder.add<std::string>(view(key), view(spec.help));
        break;
      case kind::integer:
        adder.add<int64_t>(view(key), view(spec.help));
        break;
      case kind::duration:
        adder.add<caf::timespan>(view(key), view(spec.help));
        break;
      case kind::text_list:
        adder.add<std::vector<std::string>>(view(key), view(spec.help));
        break;
      case kind::boolean:
        adder.add<bool>(view(key), view(spec.help));
        break;
    }
  }
}

caf::error validate(const service_options& o) {
  if (auto err = check_text("prefer-transport", o.prefer_transport, {}))
    return err;
  if (auto err = check_text("network-name", o.network_name, {}))
    return err;
  std::pair<const char*, caf::timespan> durations[] = {
    {"decision-timeout", o.decision_timeout},
    {"heartbeat-interval", o.heartbeat_interval},
    {"heartbeat-timeout", o.heartbeat_timeout},
    {"connect-timeout", o.connect_timeout},
    {"handshake-timeout", o.handshake_timeout},
    {"flood-timeout", o.flood_timeout},
  };
  for (auto& [key, v] : durations)
    if (auto err = check_duration(key, v, {}))
      return err;
  if (o.heartbeat_timeout <= o.heartbeat_interval)
    return bad("heartbeat-timeout", to_text(o.heartbeat_timeout),
               "must be longer than crust.heartbeat-interval");
  std::pair<const char*, int64_t> sizes[] = {
    {"max-frame-size", o.max_frame_size},
    {"max-message-size", o.max_message_size},
    {"send-queue-size", o.send_queue_size},
    {"undecided-buffer-size", o.undecided_buffer_size},
    {"max-connections-per-ip", o.max_connections_per_ip},
    {"max-half-open-per-ip", o.max_half_open_per_ip},
    {"max-half-open", o.max_half_open},
    {"max-connections", o.max_connections},
    {"max-bytes-per-sec", o.max_bytes_per_sec},
    {"max-records-per-sec", o.max_records_per_sec},
    {"max-bytes-per-sec-per-ip", o.max_bytes_per_sec_per_ip},
    {"max-records-per-sec-per-ip", o.max_records_per_sec_per_ip},
  };
  for (auto& [key, v] : sizes)
    if (auto err = check_integer(key, v, {}))
      return err;
  for (auto& entry : o.allow_only)
    if (auto err = check_entry("allow-only", entry, {}))
      return err;
  for (auto& contact : o.contacts)
    if (auto err = check_list_item("contacts", contact, {}))
      return err;
  for (auto& target : o.beacon_targets)
    if (auto err = check_list_item("beacon-targets", target, {}))
      return err;
  if (auto err = check_integer("beacon-port", o.beacon_port, {}))
    return err;
  for (auto& server : o.stun_servers)
    if (auto err = check_list_item("stun-servers", server, {}))
      return err;
  if (auto err = check_duration("upnp-lease", o.upnp_lease, {}))
    return err;
  if (auto err = check_duration("upnp-timeout", o.upnp_timeout, {}))
    return err;
  std::pair<const char*, int64_t> counts[] = {
    {"bootstrap-cache-size", o.bootstrap_cache_size},
    {"bootstrap-target", o.bootstrap_target},
    {"min-connections", o.min_connections},
    {"bootstrap-concurrency", o.bootstrap_concurrency},
  };
  for (auto& [key, v] : counts)
    if (auto err = check_integer(key, v, {}))
      return err;
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

caf::expected<service_options> read_options(const caf::actor_system_config& cfg) {
  if (auto err = check_raw_file(cfg.config_file_path))
    return err;
  service_options o;
  auto text = [&](const char* key, std::string& dst) {
    if (auto v = caf::get_if<std::string>(&cfg, std::string{"crust."} + key))
      dst = *v;
  };
  auto duration = [&](const char* key, caf::timespan& dst) {
    if (auto v = caf::get_if<caf::timespan>(&cfg, std::string{"crust."} + key))
      dst = *v;
  };
  caf::error err;
  auto integer = [&](const char* key, auto& dst) {
    using T = std::decay_t<decltype(dst)>;
    auto v = caf::get_if<int64_t>(&cfg, std::string{"crust."} + key);
    if (!v || err)
      return;
    if (*v < 0 || static_cast<uint64_t>(*v) > std::numeric_limits<T>::max()) {
      err = check_integer(key, *v, {});
      if (!err)
        err = bad(key, std::to_string(*v), "is out of range");
      return;
    }
    if ((err = check_integer(key, *v, {})))
      return;
    dst = static_cast<T>(*v);
  };
  text("listen-address", o.listen_address);
  integer("listen-port", o.listen_port);
  duration("decision-timeout", o.decision_timeout);
  duration("heartbeat-interval", o.heartbeat_interval);
  duration("heartbeat-timeout", o.heartbeat_timeout);
  duration("connect-timeout", o.connect_timeout);
  duration("handshake-timeout", o.handshake_timeout);
  integer("max-frame-size", o.max_frame_size);
  integer("max-message-size", o.max_message_size);
  integer("send-queue-size", o.send_queue_size);
  integer("undecided-buffer-size", o.undecided_buffer_size);
  text("prefer-transport", o.prefer_transport);
  text("network-name", o.network_name);
  text("identity-file", o.identity_file);
  integer("max-connections-per-ip", o.max_connections_per_ip);
  integer("max-half-open-per-ip", o.max_half_open_per_ip);
  integer("max-half-open", o.max_half_open);
  integer("max-connections", o.max_connections);
  integer("max-bytes-per-sec", o.max_bytes_per_sec);
  integer("max-records-per-sec", o.max_records_per_sec);
  integer("max-bytes-per-sec-per-ip", o.max_bytes_per_sec_per_ip);
  integer("max-records-per-sec-per-ip", o.max_records_per_sec_per_ip);
  duration("flood-timeout", o.flood_timeout);
  if (auto v = caf::get_if<std::vector<std::string>>(&cfg, "crust.allow-only"))
    o.allow_only = *v;
  if (auto v = caf::get_if<std::vector<std::string>>(&cfg, "crust.contacts"))
    o.contacts = *v;
  // Absent: the default place; present but empty: no persistence.
  o.bootstrap_cache_file = default_cache_path(o.network_name);
  text("bootstrap-cache-file", o.bootstrap_cache_file);
  integer("bootstrap-cache-size", o.bootstrap_cache_size);
  if (auto v = caf::get_if<bool>(&cfg, "crust.bootstrap-cache-required"))
    o.bootstrap_cache_required = *v;
  if (auto v = caf::get_if<bool>(&cfg, "crust.peer-exchange"))
    o.peer_exchange = *v;
  if (auto v = caf::get_if<bool>(&cfg, "crust.beacon"))
    o.beacon = *v;
  integer("beacon-port", o.beacon_port);
  if (auto v = caf::get_if<std::vector<std::string>>(&cfg,
                                                     "crust.beacon-targets"))
    o.beacon_targets = *v;
  if (auto v = caf::get_if<bool>(&cfg, "crust.upnp"))
    o.upnp = *v;
  duration("upnp-lease", o.upnp_lease);
  duration("upnp-timeout", o.upnp_timeout);
  if (auto v = caf::get_if<std::vector<std::string>>(&cfg,
                                                     "crust.stun-servers"))
    o.stun_servers = *v;
  integer("bootstrap-target", o.bootstrap_target);
  integer("min-connections", o.min_connections);
  integer("bootstrap-concurrency", o.bootstrap_concurrency);
  if (err)
    return err;
  if (auto verr = validate(o))
    return verr;
  return o;
}

} // namespace crust
