#include "discovery/beacon_packet.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>

#include "crust/errors.hpp"
#include "transports/bytes.hpp"

namespace crust {

namespace {

constexpr uint8_t magic[4] = {'c', 'r', 's', 'b'};
constexpr uint8_t version = 1;
constexpr size_t network_hash_size = 16;
// magic, version, kind, network hash, peer id, time, count
constexpr size_t header_size = 4 + 1 + 1 + network_hash_size + 32 + 8 + 1;

std::array<uint8_t, network_hash_size> network_hash(const std::string& name) {
  std::array<uint8_t, network_hash_size> out;
  static constexpr char key[] = "crust-beacon-network";
  crypto_generichash_blake2b(out.data(), out.size(),
                             reinterpret_cast<const uint8_t*>(name.data()),
                             name.size(),
                             reinterpret_cast<const uint8_t*>(key),
                             sizeof(key) - 1);
  return out;
}

caf::error drop(const std::string& why) {
  return make_error(errc::invalid_config, "beacon: " + why);
}

} // namespace

std::vector<uint8_t> encode_beacon(const identity& me, const std::string& network,
                                   beacon_packet::kind what, uint64_t time,
                                   const std::vector<endpoint>& endpoints) {
  std::vector<uint8_t> out(magic, magic + 4);
  out.push_back(version);
  out.push_back(static_cast<uint8_t>(what));
  auto nh = network_hash(network);
  out.insert(out.end(), nh.begin(), nh.end());
  out.insert(out.end(), me.id().bytes.begin(), me.id().bytes.end());
  bytes::put<uint64_t>(out, time);
  auto count_at = out.size();
  out.push_back(0);
  for (auto ep : endpoints) {
    ep.pinned = caf::none;
    auto text = to_string(ep);
    if (out[count_at] == beacon_max_endpoints || text.size() > 255
        || out.size() + 1 + text.size() + identity::signature_size
             > beacon_max_size)
      break;
    out.push_back(static_cast<uint8_t>(text.size()));
    out.insert(out.end(), text.begin(), text.end());
    ++out[count_at];
  }
  auto sig = me.sign(out);
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

caf::expected<beacon_packet> decode_beacon(const uint8_t* data, size_t size,
                                           const std::string& network,
                                           uint64_t now) {
  if (size > beacon_max_size)
    return drop("oversize");
  if (size < header_size + identity::signature_size)
    return drop("short");
  if (!std::equal(magic, magic + 4, data) || data[4] != version)
    return drop("not a crust beacon of this version");
  if (data[5] > 1)
    return drop("unknown kind");
  auto nh = network_hash(network);
  if (!std::equal(nh.begin(), nh.end(), data + 6))
    return drop("another network");
  beacon_packet p;
  p.what = static_cast<beacon_packet::kind>(data[5]);
  size_t pos = 6 + network_hash_size;
  std::copy(data + pos, data + pos + 32, p.peer.bytes.begin());
  pos += 32;
  p.time = bytes::get<uint64_t>(data + pos);
  pos += 8;
  auto signed_size = size - identity::signature_size;
  if (!identity::verify(p.peer, std::vector<uint8_t>(data, data + signed_size),
                        data + signed_size))
    return drop("bad signature");
  auto skew = p.time > now ? p.time - now : now - p.time;
  if (skew > beacon_max_skew_seconds)
    return drop("stale");
  size_t count = data[pos++];
  if (count > beacon_max_endpoints)
    return drop("too many endpoints");
  for (size_t i = 0; i < count; ++i) {
    if (pos >= signed_size)
      return drop("truncated");
    size_t len = data[pos++];
    if (pos + len > signed_size)
      return drop("truncated");
    auto ep = endpoint::parse(
      std::string(reinterpret_cast<const char*>(data + pos), len));
    pos += len;
    if (!ep || ep->pinned)
      return drop("bad endpoint");
    p.endpoints.push_back(*ep);
  }
  if (pos != signed_size)
    return drop("trailing bytes");
  return p;
}

bool beacon_replay_guard::accept(const peer_id& peer, uint64_t time,
                                 bool& first) {
  auto i = last_.find(peer);
  first = i == last_.end();
  if (!first && time <= i->second)
    return false;
  if (first && last_.size() >= capacity_)
    last_.erase(last_.begin()); // an arbitrary one: the table stays bounded
  last_[peer] = time;
  return true;
}

std::optional<udp_target> parse_udp_target(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 >= text.size()
      || text.size() - colon - 1 > 5)
    return std::nullopt;
  auto ip = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  auto port = std::stoi(port_text);
  in_addr addr;
  if (port < 1 || port > 65535 || inet_pton(AF_INET, ip.c_str(), &addr) != 1)
    return std::nullopt;
  return udp_target{ip, static_cast<uint16_t>(port)};
}

} // namespace crust
