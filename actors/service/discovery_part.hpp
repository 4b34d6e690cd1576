// The service's discovery, a part with state of its own: the LAN beacon
// (a child the supervision helper keeps) and what it announces, when we
// last dialled each peer it found, and peer exchange (answering a kept
// peer with a signed sample of the peers we reached directly; learning
// from a peer's sample). The service hands it the endpoints to announce
// once it listens; its handlers take what the beacon and connections say.
#pragma once

#include <caf/actor_clock.hpp>
#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <vector>

#include "crust/endpoint.hpp"
#include "crust/peer_id.hpp"

namespace crust {

struct service_state;

class discovery_part {
public:
  using self_ptr = caf::stateful_actor<service_state>*;

  explicit discovery_part(self_ptr self) : self_(self) {
    // nop
  }

  /// From the beacon (beacon_found) and from connections (peers_request:
  /// a kept peer asks for our sample; peers: the sample we asked for).
  caf::message_handler handlers();

  /// We listen at `endpoints`: the beacon announces them (started once;
  /// also what a restarted beacon announces).
  void start_beacon(const std::vector<endpoint>& endpoints);

  /// The beacon failed and its delay is over.
  void restart_beacon();

private:
  void on_beacon_found(const peer_id& peer, const endpoint& at);
  void on_peers_request(uint64_t c);
  void on_peers(uint64_t c, const std::vector<uint8_t>& body);

  self_ptr self_;
  std::vector<endpoint> beacon_endpoints_;
  /// When we last dialled a peer the beacon found (bounded).
  std::map<peer_id, caf::actor_clock::time_point> beacon_dialled_;
};

} // namespace crust
