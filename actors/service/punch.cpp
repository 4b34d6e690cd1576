// The service's hole-punching part (punch_part.hpp).
#include "actors/service/punch_part.hpp"
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include "nat/punch/signal.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

void refuse(self_ptr self, conn_id asker, const peer_id& to,
            wire::forward_refusal why, const std::vector<uint8_t>& payload) {
  auto context = std::vector<uint8_t>(
    payload.begin(),
    payload.begin()
      + static_cast<ptrdiff_t>(
        std::min(payload.size(), wire::forward_context_size)));
  if (auto hdl = self->state.actors.find(asker))
    self->send(*hdl, forward_failed_atom::value, to,
               static_cast<uint8_t>(why), std::move(context));
}

} // namespace

// Only between two peers the application keeps, never back to the asker
// or to ourselves, and only when crust.introduce is on.
void punch_part::introduce(conn_id asker, const peer_id& to,
                           std::vector<uint8_t>& payload) {
  auto& st = self_->state;
  auto from = st.conns->find(asker);
  if (!from || from->ph != conn_table::phase::kept)
    return;
  if (!st.opts.introduce || to == from->peer || to == st.id)
    return refuse(self_, asker, to, wire::forward_refusal::refused, payload);
  auto target = st.conns->live(to);
  if (!target)
    return refuse(self_, asker, to, wire::forward_refusal::not_connected,
                  payload);
  if (st.conns->find(*target)->ph != conn_table::phase::kept)
    return refuse(self_, asker, to, wire::forward_refusal::refused, payload);
  if (auto hdl = st.actors.find(*target))
    self_->send(*hdl, forwarded_atom::value, from->peer, std::move(payload));
}

// A signal for us, passed on by a kept peer: the origin signed it for us.
// One that does not verify could be the forwarder's doing or the
// origin's, so it is counted and dropped, not held against either.
void punch_part::on_signal(conn_id via, const peer_id& from,
                           const std::vector<uint8_t>& payload) {
  auto& st = self_->state;
  auto rec = st.conns->find(via);
  if (!rec || rec->ph != conn_table::phase::kept)
    return;
  auto s = decode_signal(from, st.id, st.opts.network_name, payload.data(),
                         payload.size());
  if (!s) {
    ++bad_signals_;
    return;
  }
  // No attempt of ours yet: the hole_punch actor takes them from here.
}

caf::message_handler punch_part::handlers() {
  auto self = self_;
  return {
    // from connections: a kept peer asks us to pass a signal on
    [this, self](forward_atom, const peer_id& to,
                 std::vector<uint8_t>& payload) {
      if (auto c = sender_conn(self))
        introduce(*c, to, payload);
    },
    // from connections: a signal a kept peer passed on to us
    [this, self](forwarded_atom, const peer_id& from,
                 const std::vector<uint8_t>& payload) {
      if (auto c = sender_conn(self))
        on_signal(*c, from, payload);
    },
    // from connections: our FORWARD was not passed on
    [self](forward_failed_atom, const peer_id&, uint8_t,
           const std::vector<uint8_t>&) {
      // Only attempts of ours send FORWARDs; none exists yet.
      static_cast<void>(self);
    },
  };
}

} // namespace crust
