// The punch part's relay (punch_part.hpp): a circuit through a mutual
// peer for a peer the application waits on, asked for alongside a punch
// that has not got through after crust.relay-after, or after it failed
// (docs/DESIGN.md, "Relay": a relay alongside a slow punch). Whichever
// fails last tells the application, with both reasons.
#include "actors/service/punch_part.hpp"
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include "transports/bytes.hpp"

namespace crust {

// The attempt is over, by its own word or its actor's failure: forgotten,
// and a failure of one the application asked for is reported (unless the
// peer got connected another way). `why` empty: it connected.
void punch_part::end(std::map<attempt_id, attempt_rec>::iterator i,
                     const std::string& why) {
  auto rec = std::move(i->second);
  attempts_.erase(i);
  self_->state.children->erase(rec.actor);
  auto& st = self_->state;
  if (rec.upgrade && !why.empty()) {
    upgrades_.failed(rec.peer, self_->clock().now(), unit_random());
    arm_upgrades();
  }
  if (rec.relay) { // asked for alongside: it may still carry
    rec.relay->punch_over = true;
    if (!why.empty())
      rec.relay->punch_why = "hole punching failed: " + why;
    if (!why.empty() && rec.relay->relay_failed && !st.conns->live(rec.peer))
      fail(rec.peer, rec.relay->punch_why + "; relay: "
                       + *rec.relay->relay_failed);
    return;
  }
  if (why.empty() || !rec.ours || st.conns->live(rec.peer))
    return;
  // The last resort: a relay among the mutual peers.
  start_relay(rec);
  rec.relay->punch_over = true;
  rec.relay->punch_why = "hole punching failed: " + why;
}

void punch_part::start_relay(attempt_rec& rec) {
  auto& st = self_->state;
  auto vias = rec.vias;
  if (vias.empty())
    for (auto& [peer, c] : st.conns->kept_peers())
      if (peer != rec.peer)
        vias.push_back(c);
  auto self = self_;
  auto peer = rec.peer;
  auto state = std::make_shared<relay_try>();
  rec.relay = state;
  // Heard only when no relay carries: said once both failed (or kept for
  // the punch's end to say).
  st.relay->connect_via_relay(peer, std::move(vias),
                              [self, peer, state](const std::string& r) {
                                auto& st = self->state;
                                if (st.conns->live(peer))
                                  return;
                                if (!state->punch_over) {
                                  state->relay_failed = r;
                                  return;
                                }
                                if (!state->punch_why.empty())
                                  st.punch->fail(peer, state->punch_why
                                                         + "; relay: " + r);
                              });
}

void punch_part::on_relay_early(const std::vector<uint8_t>& attempt) {
  auto& st = self_->state;
  auto aid = bytes::to_array<attempt_id>(attempt);
  auto i = aid ? attempts_.find(*aid) : attempts_.end();
  if (i == attempts_.end() || st.stopping || !i->second.ours
      || i->second.relay || st.conns->live(i->second.peer))
    return;
  start_relay(i->second);
}

} // namespace crust
