// LAN discovery packets: a node's signed announcement of where it listens.
// Sans-I/O: encode, and decode with every check a receiver makes before
// believing one (docs/PROTOCOL.md, "Beacon").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "crust/endpoint.hpp"
#include "crust/peer_id.hpp"
#include "transports/identity.hpp"

namespace crust {

struct beacon_packet {
  enum class kind : uint8_t { announce = 0, answer = 1 };
  kind what = kind::announce;
  peer_id peer;
  uint64_t time = 0; // Unix seconds
  std::vector<endpoint> endpoints;
};

/// Largest packet we send or read; endpoints past what fits are left out.
constexpr size_t beacon_max_size = 512;
/// Endpoints per packet.
constexpr size_t beacon_max_endpoints = 4;
/// Packets whose time is further than this from ours are stale.
constexpr uint64_t beacon_max_skew_seconds = 60;

std::vector<uint8_t> encode_beacon(const identity& me, const std::string& network,
                                   beacon_packet::kind what, uint64_t time,
                                   const std::vector<endpoint>& endpoints);

/// Checks magic, version, network, size, signature and age; the error says
/// which (for counting; packets are dropped without a word).
caf::expected<beacon_packet> decode_beacon(const uint8_t* data, size_t size,
                                           const std::string& network,
                                           uint64_t now);

/// Refuses a packet that is not newer than the last one accepted from its
/// peer (a replay), remembering at most `capacity` peers.
class beacon_replay_guard {
public:
  explicit beacon_replay_guard(size_t capacity = 1024) : capacity_(capacity) {
    // nop
  }

  /// True (and remembered) when `time` is newer than anything seen from
  /// `peer`; `first` says whether the peer was unknown.
  bool accept(const peer_id& peer, uint64_t time, bool& first);

  size_t size() const {
    return last_.size();
  }

private:
  size_t capacity_;
  std::map<peer_id, uint64_t> last_;
};

/// "IP:PORT" (IPv4) as a beacon target; nullopt when it is not one.
struct udp_target {
  std::string ip;
  uint16_t port = 0;
};
std::optional<udp_target> parse_udp_target(const std::string& text);

} // namespace crust
