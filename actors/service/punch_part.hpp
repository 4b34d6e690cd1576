// The service's hole punching, a part with state of its own. So far its
// introducer: a kept peer asks this node (FORWARD) to pass a signal on to
// another peer it keeps, and the node does (FORWARDED) or says why not
// (FORWARD_FAILED); the link bounds each frame and the rate per
// connection. Signals that reach this node for attempts of its own are
// checked here; the attempts (actors/hole_punch, nat/punch/attempt) come
// next.
#pragma once

#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <vector>

#include "crust/peer_id.hpp"
#include "node/conn_table.hpp"

namespace crust {

struct service_state;

class punch_part {
public:
  using self_ptr = caf::stateful_actor<service_state>*;

  explicit punch_part(self_ptr self) : self_(self) {
    // nop
  }

  /// From connections: a FORWARD to pass on, a FORWARDED signal, a
  /// FORWARD_FAILED.
  caf::message_handler handlers();

  /// Signals forwarded to this node that did not verify (bounded
  /// counters, for tests and the status page).
  uint64_t bad_signals() const {
    return bad_signals_;
  }

private:
  void introduce(conn_id asker, const peer_id& to,
                 std::vector<uint8_t>& payload);
  void on_signal(conn_id via, const peer_id& from,
                 const std::vector<uint8_t>& payload);

  self_ptr self_;
  uint64_t bad_signals_ = 0;
};

} // namespace crust
