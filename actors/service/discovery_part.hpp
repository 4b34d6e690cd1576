// The service's discovery, a part with state of its own: the LAN beacon
// (a child the supervision helper keeps) and what it announces, when we
// last dialled each peer it found, and peer exchange (answering a kept
// peer with a signed sample of the peers we reached directly; learning
// from a peer's sample). It hears where we listen and which peers are
// kept as the service's events (events.hpp); its handlers take what the
// beacon and connections say.
#pragma once

#include <caf/actor_clock.hpp>
#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <vector>

#include "actors/service/events.hpp"
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

  /// An event from the service: listening_up (the beacon announces those
  /// endpoints), kept (with peer exchange on, ask the peer for its
  /// sample).
  void on(const service_event& ev);

  /// The beacon failed and its delay is over.
  void restart_beacon();

private:
  /// Starts the beacon announcing `endpoints`, or tells the running one
  /// (our ports moved); a restarted beacon announces the last ones.
  void start_beacon(const std::vector<endpoint>& endpoints);

  void on_beacon_found(const peer_id& peer, const endpoint& at);
  void on_peers_request(uint64_t c);
  void on_peers(uint64_t c, const std::vector<uint8_t>& body);
  void on_endpoints(uint64_t c, const std::vector<std::string>& texts);

  self_ptr self_;
  std::vector<endpoint> beacon_endpoints_;
  /// When we last dialled a peer the beacon found (bounded).
  std::map<peer_id, caf::actor_clock::time_point> beacon_dialled_;
};

} // namespace crust
