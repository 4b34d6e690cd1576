#include "config/options.hpp"

#include <caf/all.hpp>

#include <limits>
#include <type_traits>

#include "crust/errors.hpp"
#include "crust/peer_id.hpp"
#include "node/admission.hpp"
#include "discovery/beacon_packet.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

using o = service_options;
using rule = option_rule;

constexpr int64_t u32_max = std::numeric_limits<uint32_t>::max();

} // namespace

const std::vector<option_spec>& option_table() {
  static const std::vector<option_spec> table{
    {"listen-address", "address to listen on (0.0.0.0: all)", &o::listen_address},
    {"listen-port", "TCP port to listen on (0: random)", &o::listen_port,
     rule::range, 0, 65535},
    {"decision-timeout", "close a new peer left without keep/drop after this",
     &o::decision_timeout, rule::positive},
    {"heartbeat-interval", "send a ping this often", &o::heartbeat_interval,
     rule::positive},
    {"heartbeat-timeout", "peer lost when silent for this long",
     &o::heartbeat_timeout, rule::positive},
    {"connect-timeout", "give up dialling after this", &o::connect_timeout,
     rule::positive},
    {"handshake-timeout", "close a connection not identified after this",
     &o::handshake_timeout, rule::positive},
    {"max-frame-size", "largest record accepted, in bytes (17408..65535)",
     &o::max_frame_size, rule::range, wire::min_record_size,
     wire::max_record_size},
    {"max-message-size", "largest message, in bytes", &o::max_message_size,
     rule::range, 1, int64_t{1} << 30},
    {"send-queue-size", "bytes queued per peer before send() fails",
     &o::send_queue_size, rule::range, 1, int64_t{1} << 30},
    {"undecided-buffer-size", "bytes held from a peer awaiting keep/drop",
     &o::undecided_buffer_size, rule::range, 1, int64_t{1} << 30},
    {"prefer-transport", "tcp or udp: which to dial first",
     &o::prefer_transport, rule::transport},
    {"network-name", "nodes of different networks never connect",
     &o::network_name, rule::network_name},
    {"identity-file", "the node's key (created 0600); empty: ephemeral",
     &o::identity_file},
    {"max-connections-per-ip", "connections from one IP address",
     &o::max_connections_per_ip, rule::range, 1, 1 << 20},
    {"max-half-open-per-ip", "handshakes in flight from one IP address",
     &o::max_half_open_per_ip, rule::range, 1, 1 << 20},
    {"max-half-open", "handshakes in flight in total", &o::max_half_open,
     rule::range, 1, 1 << 20},
    {"max-connections", "incoming connections in total, from everyone",
     &o::max_connections, rule::range, 1, 1 << 20},
    {"allow-only", "only these peer ids, addresses or CIDR ranges may connect",
     &o::allow_only, rule::entry},
    {"max-bytes-per-sec", "bytes a peer may send per second per connection",
     &o::max_bytes_per_sec, rule::range, 64 * 1024, u32_max},
    {"max-records-per-sec", "records a peer may send per second per connection",
     &o::max_records_per_sec, rule::range, 16, u32_max},
    {"max-bytes-per-sec-per-ip",
     "bytes per second from one IP address, all connections",
     &o::max_bytes_per_sec_per_ip, rule::range, 64 * 1024, u32_max},
    {"max-records-per-sec-per-ip", "records per second from one IP address",
     &o::max_records_per_sec_per_ip, rule::range, 16, u32_max},
    {"flood-timeout", "a peer held back by those limits this long is closed",
     &o::flood_timeout, rule::positive},
    {"bootstrap-cache-file",
     "peers to find again after a restart (\"\": none)",
     &o::bootstrap_cache_file},
    {"bootstrap-cache-size", "peers the cache keeps", &o::bootstrap_cache_size,
     rule::range, 1, 100000},
    {"bootstrap-cache-required",
     "an unwritable cache stops start-up (else: a warning)",
     &o::bootstrap_cache_required},
    {"contacts", "endpoints to dial when the cache has no one", &o::contacts,
     rule::endpoint},
    {"bootstrap-target", "bootstrap stops at this many kept",
     &o::bootstrap_target, rule::range, 1, 1000},
    {"min-connections", "bootstrap again below this many kept (0: never)",
     &o::min_connections, rule::range, 0, 1000},
    {"bootstrap-concurrency", "dials a bootstrap round has in flight at once",
     &o::bootstrap_concurrency, rule::range, 1, 1000},
    {"peer-exchange", "learn peers two hops away from kept peers",
     &o::peer_exchange},
    {"introduce", "pass hole-punching signals between kept peers",
     &o::introduce},
    {"punch-timeout", "how long one hole-punching attempt may take",
     &o::punch_timeout, rule::positive},
    {"punch-tcp", "punch TCP paths (simultaneous open from the listen port)",
     &o::punch_tcp},
    {"punch-udp", "punch UDP paths (probes from the rudp socket)",
     &o::punch_udp},
    {"punch-birthday", "many probes against an endpoint-dependent NAT",
     &o::punch_birthday},
    {"relay", "join two kept peers that cannot reach each other (a circuit)",
     &o::relay},
    {"relay-max-circuits", "circuits this relay carries at once",
     &o::relay_max_circuits, rule::range, 1, 4096},
    {"relay-max-circuits-per-peer", "circuits one peer may have through us",
     &o::relay_max_circuits_per_peer, rule::range, 1, 4096},
    {"relay-circuit-bytes-per-sec", "bytes per second through one circuit",
     &o::relay_circuit_bytes_per_sec, rule::range, 16 * 1024, u32_max},
    {"relay-total-bytes-per-sec", "bytes per second through all circuits",
     &o::relay_total_bytes_per_sec, rule::range, 16 * 1024, u32_max},
    {"relay-idle-timeout", "a circuit that carried nothing this long closes",
     &o::relay_idle_timeout, rule::positive},
    {"relay-after",
     "a punch not through after this long gets a relay circuit alongside "
     "(0: a relay only once the punch failed)",
     &o::relay_after, rule::off_or_positive},
    {"relay-grace",
     "how long a relayed connection that moved to a direct path keeps its "
     "circuit to fall back to",
     &o::relay_grace, rule::positive},
    {"relay-upgrade-interval",
     "how long after a relayed connection is kept a direct path is tried "
     "again (then doubling to 10 min)",
     &o::relay_upgrade_interval, rule::positive},
    {"rotate-ports-interval",
     "move the listening ports to new random ones about this often "
     "(0: never; a fixed listen-port never moves)",
     &o::rotate_ports_interval, rule::off_or_at_least_1s},
    {"rotate-ports-grace",
     "after a move, the old ports still take connections this long",
     &o::rotate_ports_grace, rule::positive},
    {"beacon", "LAN discovery (UDP broadcast)", &o::beacon},
    {"beacon-port", "UDP port of the LAN beacon", &o::beacon_port, rule::range,
     1, 65535},
    {"beacon-targets", "IP:PORT to announce to instead of broadcasting",
     &o::beacon_targets, rule::udp_target},
    {"upnp", "ask the gateway to forward our port (UPnP, NAT-PMP)", &o::upnp},
    {"upnp-lease", "how long a port mapping lasts (renewed at half)",
     &o::upnp_lease, rule::lease},
    {"upnp-timeout", "how long to wait for a gateway to answer",
     &o::upnp_timeout, rule::positive},
    {"stun-servers", "HOST:PORT of STUN servers, to learn our address",
     &o::stun_servers, rule::host_port},
  };
  return table;
}

const option_spec* find_option(const std::string& key) {
  for (auto& spec : option_table())
    if (key == spec.key)
      return &spec;
  return nullptr;
}

option_kind option_spec::kind() const {
  return std::visit(
    [](auto member) {
      using T = std::decay_t<decltype(service_options{}.*member)>;
      if constexpr (std::is_same_v<T, std::string>)
        return option_kind::text;
      else if constexpr (std::is_same_v<T, caf::timespan>)
        return option_kind::duration;
      else if constexpr (std::is_same_v<T, bool>)
        return option_kind::boolean;
      else if constexpr (std::is_same_v<T, std::vector<std::string>>)
        return option_kind::text_list;
      else
        return option_kind::integer;
    },
    field);
}

caf::config_value option_spec::default_value() const {
  static const service_options defaults;
  return value_in(defaults);
}

caf::config_value option_spec::value_in(const service_options& opts) const {
  return std::visit(
    [&](auto member) {
      auto& v = opts.*member;
      using T = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        caf::config_value::list xs;
        for (auto& x : v)
          xs.emplace_back(x);
        return caf::config_value{std::move(xs)};
      } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        return caf::config_value{static_cast<int64_t>(v)};
      } else {
        return caf::config_value{v};
      }
    },
    field);
}

caf::error bad(const std::string& key, const std::string& value,
               const std::string& why, const std::string& file) {
  std::string text = "crust." + key + ": " + value + " " + why;
  if (!file.empty())
    text += " (in " + file + ")";
  return make_error(errc::invalid_config, std::move(text));
}

namespace {

std::string quoted(const std::string& v) {
  return "\"" + v + "\"";
}

caf::error check_item(const option_spec& s, const std::string& v,
                      const std::string& file) {
  switch (s.rule) {
    case rule::transport:
      if (v != "tcp" && v != "udp")
        return bad(s.key, quoted(v), "is not a known transport (tcp or udp)",
                   file);
      break;
    case rule::network_name:
      if (v.empty() || v.size() > 64)
        return bad(s.key, quoted(v), "must be 1 to 64 bytes", file);
      break;
    case rule::entry:
      if (!peer_id::from_hex(v) && !parse_ip_range(v))
        return bad(s.key, quoted(v),
                   "is neither a peer id (64 hex digits) nor an IP address "
                   "or CIDR range",
                   file);
      break;
    case rule::endpoint:
      if (auto ep = endpoint::parse(v); !ep)
        return bad(s.key, quoted(v),
                   "is not an endpoint (" + caf::to_string(ep.error()) + ")",
                   file);
      break;
    case rule::host_port: {
      auto colon = v.rfind(':');
      auto port = colon == std::string::npos ? 0
                                             : std::atoi(v.c_str() + colon + 1);
      if (colon == 0 || colon == std::string::npos || port < 1 || port > 65535
          || v.find_first_not_of("0123456789", colon + 1) != std::string::npos)
        return bad(s.key, quoted(v), "is not HOST:PORT", file);
      break;
    }
    case rule::udp_target:
      if (!parse_udp_target(v))
        return bad(s.key, quoted(v), "is not an IPv4 address and port", file);
      break;
    default:
      break;
  }
  return caf::none;
}

caf::error check_integer(const option_spec& s, int64_t v,
                         const std::string& file) {
  if (s.rule == rule::range && (v < s.lo || v > s.hi))
    return bad(s.key, std::to_string(v),
               "is out of range (" + std::to_string(s.lo) + ".."
                 + std::to_string(s.hi) + ")",
               file);
  return caf::none;
}

caf::error check_duration(const option_spec& s, caf::timespan v,
                          const std::string& file) {
  if (s.rule == rule::off_or_positive) {
    if (v.count() < 0)
      return bad(s.key, to_text(v), "must be 0 (off) or a positive duration",
                 file);
    return caf::none;
  }
  if (s.rule == rule::off_or_at_least_1s) {
    if (v.count() != 0 && v < std::chrono::seconds(1))
      return bad(s.key, to_text(v), "must be 0 (off) or at least 1s", file);
    return caf::none;
  }
  if (v.count() <= 0)
    return bad(s.key, to_text(v),
               "must be a positive duration such as 10s or 500ms", file);
  if (s.rule == rule::lease
      && (v < std::chrono::seconds(60) || v > std::chrono::hours(24 * 7)))
    return bad(s.key, to_text(v), "is out of range (60s..168h)", file);
  return caf::none;
}

} // namespace

caf::error check_value(const option_spec& s, const caf::config_value& v,
                       const std::string& file) {
  auto show = [&] { return caf::to_string(v); };
  switch (s.kind()) {
    case option_kind::integer: {
      auto x = caf::get_if<int64_t>(&v);
      if (!x)
        return bad(s.key, show(), "is not a whole number", file);
      return check_integer(s, *x, file);
    }
    case option_kind::duration: {
      auto x = caf::get_if<caf::timespan>(&v);
      if (!x)
        return bad(s.key, show(), "is not a duration (write e.g. 10s or 500ms)",
                   file);
      return check_duration(s, *x, file);
    }
    case option_kind::text: {
      auto x = caf::get_if<std::string>(&v);
      if (!x)
        return bad(s.key, show(), "is not a quoted string", file);
      return check_item(s, *x, file);
    }
    case option_kind::boolean:
      if (!caf::get_if<bool>(&v))
        return bad(s.key, show(), "is not true or false", file);
      return caf::none;
    case option_kind::text_list: {
      auto xs = caf::get_if<caf::config_value::list>(&v);
      if (!xs)
        return bad(s.key, show(),
                   "is not a list of quoted strings (write [\"a\", \"b\"])",
                   file);
      for (auto& x : *xs) {
        auto text = caf::get_if<std::string>(&x);
        if (!text)
          return bad(s.key, caf::to_string(x), "is not a quoted string", file);
        if (auto err = check_item(s, *text, file))
          return err;
      }
      return caf::none;
    }
  }
  return caf::none;
}

caf::error check_crust_section(const caf::settings& parsed,
                               const std::string& path) {
  auto section = parsed.find("crust");
  if (section == parsed.end())
    return caf::none;
  auto dict = caf::get_if<caf::config_value::dictionary>(&section->second);
  if (!dict)
    return make_error(errc::invalid_config, "crust is not a section in " + path);
  for (auto& [key, value] : *dict) {
    auto spec = find_option(key);
    if (spec == nullptr)
      return bad(key, caf::to_string(value), "is not a crust setting", path);
    if (auto err = check_value(*spec, value, path))
      return err;
  }
  return caf::none;
}

std::vector<std::string> setting_names() {
  std::vector<std::string> result;
  for (auto& spec : option_table())
    result.emplace_back(spec.key);
  return result;
}

} // namespace crust
