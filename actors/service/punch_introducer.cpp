// The punch part's introducer role (punch_part.hpp): a kept peer asks us
// (FORWARD) to pass a signal on to another peer we keep; we do
// (FORWARDED) or say why not (FORWARD_FAILED).
#include "actors/service/punch_part.hpp"
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include "transports/wire.hpp"

namespace crust {

namespace {

// The link cuts the payload to the context FORWARD_FAILED carries.
void refuse(self_ptr self, conn_id asker, const peer_id& to,
            wire::forward_refusal why, const std::vector<uint8_t>& payload) {
  if (auto hdl = self->state.actors.find(asker))
    self->send(*hdl, forward_failed_atom::value, to,
               static_cast<uint8_t>(why), payload);
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

} // namespace crust
