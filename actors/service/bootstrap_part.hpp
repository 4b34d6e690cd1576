// The service's bootstrapping, a part with state of its own: the cache
// keeper and the rounds (children the supervision helper keeps), the
// contacts, and how many rounds in a row left the node short. A round
// (actors/bootstrap) asks the service to dial; the part tells it how each
// of its dials ended and how many peers are kept, tells the cache which
// peers the node reached directly or failed to, and starts a new round
// when the node falls below crust.min-connections. It hears what happens
// to connections as the service's events (events.hpp).
#pragma once

#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/service/events.hpp"
#include "crust/endpoint.hpp"
#include "crust/peer_id.hpp"
#include "node/conn_table.hpp"

namespace crust {

struct service_state;

class bootstrap_part {
public:
  using self_ptr = caf::stateful_actor<service_state>*;
  using result = conn_table::ending::bootstrap_result;

  explicit bootstrap_part(self_ptr self) : self_(self) {
    // nop
  }

  /// From a round (bootstrap_dial: dial this) and from ourselves
  /// (rebootstrap: the delay after a short round is over).
  caf::message_handler handlers();

  /// Starts the cache keeper (`persist`) and the first round, over
  /// `cached` and the contacts, when there is anything to dial.
  void start(bool persist, const std::vector<endpoint>& cached);

  /// The cache keeper failed and its delay is over.
  void restart_cache();

  /// Starts a new round when still below crust.min-connections.
  void rebootstrap();

  /// How many peers the application keeps now.
  uint32_t kept() const;

  /// An event from the service: announced (the cache remembers a peer
  /// we reached by dialling), kept and lost (the kept count, and a
  /// round's results), dial_failed (the cache marks a pinned peer down;
  /// the round hears its result), peers_learned (a round for them while
  /// short of crust.bootstrap-target).
  void on(const service_event& ev);

  /// The round's actor is gone (it ended, or failed).
  void on_round_ended();

private:
  /// Starts a round over `targets` unless one runs.
  void start_round(std::vector<endpoint> targets);

  /// How a round's dial of `target` ended (said once per dial).
  void tell_round(const endpoint& target, const result& r);

  /// Dialling `target` failed: a pinned peer in the cache is marked down.
  void tell_cache_failed(const endpoint& target);

  /// The number of kept peers may have changed.
  void on_kept_changed();

  self_ptr self_;
  bool persist_ = false;
  std::vector<endpoint> contacts_;
  uint32_t short_rounds_ = 0;
  /// Peers exchange taught us while a round ran: the next round's.
  std::vector<endpoint> learned_;
  static constexpr size_t max_learned = 64;
  bool rebootstrap_pending_ = false;
};

} // namespace crust
