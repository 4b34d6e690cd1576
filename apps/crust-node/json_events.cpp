#include "apps/crust-node/json_events.hpp"

#include <nlohmann/json.hpp>
#include <sodium.h>

namespace crust::node {

namespace {

using json = nlohmann::json;

std::string line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string base64(const std::vector<uint8_t>& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(),
                                            sodium_base64_VARIANT_ORIGINAL),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back(); // the terminating NUL
  return out;
}

} // namespace

bool is_utf8(const std::vector<uint8_t>& s) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = s[i];
    size_t extra;
    if (c < 0x80)
      extra = 0;
    else if (c >= 0xC2 && c <= 0xDF)
      extra = 1;
    else if (c >= 0xE0 && c <= 0xEF)
      extra = 2;
    else if (c >= 0xF0 && c <= 0xF4)
      extra = 3;
    else
      return false;
    if (s.size() - i <= extra)
      return false;
    for (size_t k = 1; k <= extra; ++k)
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
    i += extra + 1;
  }
  return true;
}

std::string to_json(const listening& x) {
  json eps = json::array();
  for (auto& ep : x.endpoints)
    eps.push_back(to_string(ep));
  return line({{"event", "listening"}, {"peer_id", x.id.to_hex()},
               {"endpoints", eps}});
}

std::string to_json(const new_peer& x) {
  return line({{"event", "new_peer"},
               {"peer_id", x.peer.to_hex()},
               {"transport", to_string(x.info.proto)},
               {"origin", to_string(x.info.from)},
               {"inbound", x.info.inbound},
               {"local", to_string(x.info.local)},
               {"remote", to_string(x.info.remote)}});
}

std::string to_json(const message& x) {
  json j{{"event", "message"}, {"peer_id", x.peer.to_hex()}};
  if (is_utf8(x.bytes))
    j["text"] = std::string(x.bytes.begin(), x.bytes.end());
  else
    j["base64"] = base64(x.bytes);
  return line(j);
}

std::string to_json(const peer_lost& x) {
  return line({{"event", "peer_lost"}, {"peer_id", x.peer.to_hex()},
               {"reason", x.reason}});
}

std::string to_json(const punched& x) {
  return line({{"event", "punched"}, {"peer_id", x.peer.to_hex()},
               {"transport", x.proto == transport::tcp ? "tcp" : "udp"},
               {"round", x.round}, {"ms", x.millis}});
}

std::string to_json(const path_changed& x) {
  auto path = [](const connection_info& i) {
    return json{{"transport", to_string(i.proto)},
                {"local", to_string(i.local)},
                {"remote", to_string(i.remote)}};
  };
  return line({{"event", "path_changed"}, {"peer_id", x.peer.to_hex()},
               {"from", path(x.from)}, {"to", path(x.to)}});
}

std::string to_json(const connection_failed& x) {
  return line({{"event", "connection_failed"}, {"target", x.target},
               {"reason", x.reason}});
}

std::string to_json(const bootstrap_finished& x) {
  return line({{"event", "bootstrap_finished"}, {"connections", x.connections}});
}

std::string to_json(const port_mapping& x) {
  return line({{"event", "port_mapping"},
               {"method", x.method},
               {"external", x.external},
               {"lease", x.lease},
               {"error", x.error}});
}

std::string to_json(const external_endpoints& x) {
  json addresses = json::array();
  for (auto& a : x.addresses)
    addresses.push_back({{"protocol", a.protocol},
                         {"address", a.address},
                         {"source", a.source}});
  json stun = json::array();
  for (auto& s : x.stun)
    stun.push_back({{"server", s.server},
                    {"mapped", s.mapped},
                    {"rtt_ms", s.rtt_ms},
                    {"error", s.error}});
  return line({{"event", "external_endpoints"},
               {"addresses", addresses},
               {"nat_type", x.nat_type},
               {"mapping", x.mapping},
               {"filtering", x.filtering},
               {"stun", stun},
               {"stun_ignored", x.stun_ignored}});
}

std::string to_json(const bootstrap_failed& x) {
  return line({{"event", "bootstrap_failed"}, {"reasons", x.reasons}});
}

std::string to_json(const warning& x) {
  return line({{"event", "warning"}, {"message", x.text}});
}

std::string to_json(const misbehaving& x) {
  json j{{"event", "misbehaving"},
         {"address", x.address},
         {"kind", to_string(x.kind)},
         {"detail", x.detail}};
  if (x.peer)
    j["peer_id"] = x.peer->to_hex();
  return line(j);
}

std::string to_json(const std::vector<peer_info>& xs) {
  json peers = json::array();
  for (auto& p : xs)
    peers.push_back({{"peer_id", p.peer.to_hex()},
                     {"kept", p.kept},
                     {"transport", to_string(p.info.proto)},
                     {"origin", to_string(p.info.from)},
                     {"remote", to_string(p.info.remote)}});
  return line({{"event", "peers"}, {"peers", peers}});
}

std::string error_json(const std::string& what, const std::string& command) {
  json j{{"event", "error"}, {"message", what}};
  if (!command.empty())
    j["command"] = command;
  return line(j);
}

std::string to_json(const rendezvous_info& x) {
  auto info = json::parse(x.json, nullptr, false);
  return line({{"event", "connection_info"},
               {"peer_id", x.peer.to_hex()},
               {"info", std::move(info)}});
}

std::string info_of(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return text; // not JSON: the service's reader says so
  if (j.contains("event") && j["event"] == "connection_info"
      && j.contains("info"))
    return j["info"].dump();
  return j.dump();
}

std::string count_json(const std::string& name, const std::string& counter,
                       uint64_t n) {
  return line({{"event", name}, {counter, n}});
}

std::string ack_json(const std::string& name, const peer_id& peer,
                     size_t bytes) {
  json j{{"event", name}, {"peer_id", peer.to_hex()}};
  if (name == "sent")
    j["bytes"] = bytes;
  return line(j);
}

} // namespace crust::node
