// The service's relay, a part with state of its own, both roles:
// - the relay (crust.relay=true): a kept peer asks for a circuit to
//   another peer we keep (CIRCUIT_OPEN); the relay_table (node/) decides,
//   holds the bytes within its limits, and says what each connection
//   sends; the service moves those frames between the two connections;
// - an end: connect_via_relay asks a kept peer for a circuit to a peer
//   (after a hole punch failed); an opened or incoming circuit becomes a
//   relayed connection (actors/connection/relayed.cpp) that the service
//   runs like any other, origin `relayed`, transport `relay`.
#pragma once

#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/service/events.hpp"
#include "crust/peer_id.hpp"
#include "node/conn_table.hpp"
#include "node/relay_table.hpp"

namespace crust {

struct service_state;

class relay_part {
public:
  using self_ptr = caf::stateful_actor<service_state>*;

  /// Circuits this node asks for at once (as an end).
  static constexpr size_t max_pending = 8;
  /// Circuit opens a peer had refused for its rate before it is reported
  /// misbehaving (once per run of refusals).
  static constexpr uint32_t loop_refusals = 8;

  explicit relay_part(self_ptr self);

  /// From connections: the circuit frames no relayed connection claimed;
  /// from ourselves: the relay's timer.
  caf::message_handler handlers();

  /// An event from the service: lost (a connection's circuits close).
  void on(const service_event& ev);

  /// Asks the kept peers `vias` in turn for a circuit to `peer`;
  /// `failed(why)` runs when none opened one (not when one did: the
  /// relayed connection's new_peer says so).
  void connect_via_relay(const peer_id& peer, std::vector<conn_id> vias,
                         std::function<void(const std::string&)> failed);

  /// The relay stops: every circuit closes, its ends told why.
  void stop();

  const relay_table& table() const {
    return table_;
  }

private:
  struct pending {
    peer_id peer;
    std::vector<conn_id> rest; // vias not asked yet
    std::vector<std::string> reasons;
    std::function<void(const std::string&)> failed;
  };

  void on_open(conn_id asker, uint32_t id, const peer_id& to);
  void on_opened(conn_id via, uint32_t id, uint32_t credit,
                 const std::vector<uint8_t>& limits);
  void on_incoming(conn_id via, uint32_t id, const peer_id& from,
                   uint32_t credit, const std::vector<uint8_t>& limits);
  void on_close(conn_id c, uint32_t id, uint8_t why);
  void ask_next(pending p);
  void spawn_end(conn_id via, uint32_t id, const peer_id& peer,
                 uint32_t credit, const std::vector<uint8_t>& limits,
                 bool inbound);
  void flush();

  self_ptr self_;
  relay_table table_;
  // Our open requests, by (via, id).
  std::map<circuit_end, pending> pending_;
  // Our relayed connections, by their circuit: frames that reach the
  // service before the carrier routes them (an incoming circuit's first
  // bytes) are passed on.
  std::map<circuit_end, caf::actor> ends_;
  uint32_t next_id_ = 1;
  std::optional<relay_table::time_point> armed_;
  // Peers reported for opening circuits in a loop (until they stop).
  std::map<peer_id, bool> reported_;
};

} // namespace crust
