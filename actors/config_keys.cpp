// The [crust] settings: every key with its kind and help text, and the
// checks of their values, shared by the raw INI check and by
// read_options/validate (service_config.cpp).
#include "actors/config_check.hpp"

#include <caf/all.hpp>

#include <limits>

#include "node/admission.hpp"
#include "crust/config.hpp"
#include "crust/errors.hpp"
#include "crust/peer_id.hpp"
#include "transports/beacon_packet.hpp"
#include "transports/wire.hpp"

namespace crust {

// The one list of [crust] keys; the config class declares these options.
const std::map<std::string, key_spec>& known_keys() {
  static const std::map<std::string, key_spec> keys{
    {"listen-address", {kind::text, "address to listen on (0.0.0.0: all)"}},
    {"listen-port", {kind::integer, "TCP port to listen on (0: random)"}},
    {"decision-timeout",
     {kind::duration, "close a new peer left without keep/drop after this"}},
    {"heartbeat-interval", {kind::duration, "send a ping this often"}},
    {"heartbeat-timeout",
     {kind::duration, "peer lost when silent for this long"}},
    {"connect-timeout", {kind::duration, "give up dialling after this"}},
    {"handshake-timeout",
     {kind::duration, "close a connection not identified after this"}},
    {"max-frame-size",
     {kind::integer, "largest record accepted, in bytes (17408..65535)"}},
    {"max-message-size", {kind::integer, "largest message, in bytes"}},
    {"send-queue-size",
     {kind::integer, "bytes queued per peer before send() fails"}},
    {"undecided-buffer-size",
     {kind::integer, "bytes held from a peer awaiting keep/drop"}},
    {"prefer-transport", {kind::text, "tcp or udp: which to dial first"}},
    {"network-name",
     {kind::text, "nodes of different networks never connect"}},
    {"identity-file",
     {kind::text, "the node's key (created 0600); empty: ephemeral"}},
    {"max-connections-per-ip",
     {kind::integer, "connections from one IP address"}},
    {"max-half-open-per-ip",
     {kind::integer, "handshakes in flight from one IP address"}},
    {"max-half-open", {kind::integer, "handshakes in flight in total"}},
    {"max-connections",
     {kind::integer, "incoming connections in total, from everyone"}},
    {"max-bytes-per-sec",
     {kind::integer, "bytes a peer may send per second per connection"}},
    {"max-records-per-sec",
     {kind::integer, "records a peer may send per second per connection"}},
    {"max-bytes-per-sec-per-ip",
     {kind::integer, "bytes per second from one IP address, all connections"}},
    {"max-records-per-sec-per-ip",
     {kind::integer, "records per second from one IP address"}},
    {"flood-timeout",
     {kind::duration, "a peer held back by those limits this long is closed"}},
    {"allow-only",
     {kind::text_list,
      "only these peer ids, addresses or CIDR ranges may connect"}},
    {"bootstrap-cache-file",
     {kind::text, "peers to find again after a restart (\"\": none)"}},
    {"bootstrap-cache-size", {kind::integer, "peers the cache keeps"}},
    {"bootstrap-cache-required",
     {kind::boolean, "an unwritable cache stops start-up (else: a warning)"}},
    {"contacts",
     {kind::text_list, "endpoints to dial when the cache has no one"}},
    {"bootstrap-target", {kind::integer, "bootstrap stops at this many kept"}},
    {"min-connections",
     {kind::integer, "bootstrap again below this many kept (0: never)"}},
    {"bootstrap-concurrency",
     {kind::integer, "dials a bootstrap round has in flight at once"}},
    {"peer-exchange",
     {kind::boolean, "learn peers two hops away from kept peers"}},
    {"beacon", {kind::boolean, "LAN discovery (UDP broadcast)"}},
    {"beacon-port", {kind::integer, "UDP port of the LAN beacon"}},
    {"beacon-targets",
     {kind::text_list, "IP:PORT to announce to instead of broadcasting"}},
    {"upnp",
     {kind::boolean, "ask the gateway to forward our port (UPnP, NAT-PMP)"}},
    {"upnp-lease",
     {kind::duration, "how long a port mapping lasts (renewed at half)"}},
    {"upnp-timeout",
     {kind::duration, "how long to wait for a gateway to answer"}},
    {"stun-servers",
     {kind::text_list, "HOST:PORT of STUN servers, to learn our address"}},
  };
  return keys;
}

caf::error bad(const std::string& key, const std::string& value,
               const std::string& why, const std::string& file) {
  std::string text = "crust." + key + ": " + value + " " + why;
  if (!file.empty())
    text += " (in " + file + ")";
  return make_error(errc::invalid_config, std::move(text));
}

std::string show(const caf::config_value& x) {
  return caf::to_string(x);
}

caf::error check_range(const std::string& key, int64_t v, int64_t lo,
                       int64_t hi, const std::string& file) {
  if (v < lo || v > hi)
    return bad(key, std::to_string(v),
               "is out of range (" + std::to_string(lo) + ".."
                 + std::to_string(hi) + ")",
               file);
  return caf::none;
}

// Range checks shared by raw INI values and typed options.
caf::error check_integer(const std::string& key, int64_t v,
                         const std::string& file) {
  if (key == "listen-port")
    return check_range(key, v, 0, 65535, file);
  if (key == "max-frame-size")
    return check_range(key, v, wire::min_record_size, wire::max_record_size,
                       file);
  if (key == "max-message-size" || key == "send-queue-size"
      || key == "undecided-buffer-size")
    return check_range(key, v, 1, int64_t{1} << 30, file);
  if (key == "max-connections-per-ip" || key == "max-half-open-per-ip"
      || key == "max-half-open" || key == "max-connections")
    return check_range(key, v, 1, 1 << 20, file);
  if (key == "beacon-port")
    return check_range(key, v, 1, 65535, file);
  if (key == "bootstrap-cache-size")
    return check_range(key, v, 1, 100000, file);
  if (key == "bootstrap-target" || key == "bootstrap-concurrency")
    return check_range(key, v, 1, 1000, file);
  if (key == "min-connections")
    return check_range(key, v, 0, 1000, file);
  if (key == "max-bytes-per-sec" || key == "max-bytes-per-sec-per-ip")
    return check_range(key, v, 64 * 1024, std::numeric_limits<uint32_t>::max(),
                       file);
  if (key == "max-records-per-sec" || key == "max-records-per-sec-per-ip")
    return check_range(key, v, 16, std::numeric_limits<uint32_t>::max(), file);
  return caf::none;
}

// An admission entry: a peer id, an IP address or a CIDR range.
caf::error check_entry(const std::string& key, const std::string& v,
                       const std::string& file) {
  if (peer_id::from_hex(v) || ip_range::parse(v))
    return caf::none;
  return bad(key, "\"" + v + "\"",
             "is neither a peer id (64 hex digits) nor an IP address or "
             "CIDR range",
             file);
}

// An item of a list setting: contacts are endpoints, the rest admission
// entries.
caf::error check_list_item(const std::string& key, const std::string& v,
                           const std::string& file) {
  if (key == "stun-servers") {
    auto colon = v.rfind(':');
    auto port = colon == std::string::npos ? 0 : std::atoi(v.c_str() + colon + 1);
    if (colon == 0 || colon == std::string::npos || port < 1 || port > 65535
        || v.find_first_not_of("0123456789", colon + 1) != std::string::npos)
      return bad(key, "\"" + v + "\"", "is not HOST:PORT", file);
    return caf::none;
  }
  if (key == "beacon-targets") {
    if (!parse_udp_target(v))
      return bad(key, "\"" + v + "\"", "is not an IPv4 address and port",
                 file);
    return caf::none;
  }
  if (key != "contacts")
    return check_entry(key, v, file);
  if (auto ep = endpoint::parse(v); !ep)
    return bad(key, "\"" + v + "\"",
               "is not an endpoint (" + caf::to_string(ep.error()) + ")", file);
  return caf::none;
}

caf::error check_duration(const std::string& key, caf::timespan v,
                          const std::string& file) {
  if (v.count() <= 0)
    return bad(key, to_text(v),
               "must be a positive duration such as 10s or 500ms", file);
  // Gateways count leases in whole seconds; a week is what miniupnpd
  // grants at most.
  if (key == "upnp-lease"
      && (v < std::chrono::seconds(60) || v > std::chrono::hours(24 * 7)))
    return bad(key, to_text(v), "is out of range (60s..168h)", file);
  return caf::none;
}

caf::error check_text(const std::string& key, const std::string& v,
                      const std::string& file) {
  if (key == "prefer-transport" && v != "tcp" && v != "udp")
    return bad(key, "\"" + v + "\"",
               "is not a known transport (tcp or udp)", file);
  if (key == "network-name" && (v.empty() || v.size() > 64))
    return bad(key, "\"" + v + "\"", "must be 1 to 64 bytes", file);
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
    auto spec = known_keys().find(key);
    if (spec == known_keys().end())
      return bad(key, show(value), "is not a crust setting", path);
    switch (spec->second.k) {
      case kind::integer: {
        auto v = caf::get_if<int64_t>(&value);
        if (!v)
          return bad(key, show(value), "is not a whole number", path);
        if (auto err = check_integer(key, *v, path))
          return err;
        break;
      }
      case kind::duration: {
        auto v = caf::get_if<caf::timespan>(&value);
        if (!v)
          return bad(key, show(value),
                     "is not a duration (write e.g. 10s or 500ms)", path);
        if (auto err = check_duration(key, *v, path))
          return err;
        break;
      }
      case kind::text: {
        auto v = caf::get_if<std::string>(&value);
        if (!v)
          return bad(key, show(value), "is not a quoted string", path);
        if (auto err = check_text(key, *v, path))
          return err;
        break;
      }
      case kind::boolean:
        if (!caf::get_if<bool>(&value))
          return bad(key, show(value), "is not true or false", path);
        break;
      case kind::text_list: {
        auto v = caf::get_if<caf::config_value::list>(&value);
        if (!v)
          return bad(key, show(value),
                     "is not a list of quoted strings (write [\"a\", \"b\"])",
                     path);
        for (auto& x : *v) {
          auto text = caf::get_if<std::string>(&x);
          if (!text)
            return bad(key, show(x), "is not a quoted string", path);
          if (auto err = check_list_item(key, *text, path))
            return err;
        }
        break;
      }
    }
  }
  return caf::none;
}

std::vector<std::string> setting_names() {
  std::vector<std::string> result;
  for (auto& kv : known_keys())
    result.push_back(kv.first);
  return result;
}

} // namespace crust
