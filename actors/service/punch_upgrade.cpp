// The punch part's tries for a direct path to peers whose connection runs
// through a relay (docs/DESIGN.md, "Relay"): node/upgrade_schedule says
// when; each try is an ordinary attempt through the mutual peers, quiet
// (the application hears path_changed if it works, nothing if not), and
// a connection it makes becomes the relayed connection's path. The side
// with the lower peer id tries, so that the two ends do not offer at once
// and each ignore the other's OFFER.
#include "actors/service/punch_part.hpp"
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include <sodium.h>

#include "actors/timer.hpp"

namespace crust {

double unit_random() {
  constexpr uint32_t range = 1u << 24;
  return static_cast<double>(randombytes_uniform(range)) / range;
}

void punch_part::set_upgrade_interval(
  std::chrono::steady_clock::duration first) {
  upgrade_schedule::settings s;
  s.first = first;
  s.max = std::max<std::chrono::steady_clock::duration>(first,
                                                         std::chrono::minutes(10));
  upgrades_ = upgrade_schedule{s};
  upgrade_interval_ = first;
}

bool punch_part::may_punch(const peer_id& peer) const {
  auto& conns = *self_->state.conns;
  return !conns.live(peer) || conns.wants_path(peer);
}

bool punch_part::on_upgrade_event(const service_event& ev) {
  auto& st = self_->state;
  auto now = self_->clock().now();
  if (auto k = std::get_if<events::kept>(&ev)) {
    auto rec = st.conns->find(k->c);
    if (rec && rec->info.proto == transport::relay && !rec->path
        && st.conns->leads(rec->peer)) {
      upgrades_.relayed(rec->peer, now, unit_random());
      arm_upgrades();
    }
    return true;
  }
  if (auto p = std::get_if<events::path_up>(&ev)) {
    upgrades_.direct(p->peer);
    return true;
  }
  if (auto gone = std::get_if<events::lost>(&ev)) {
    if (gone->end.was_live) {
      upgrades_.gone(gone->end.peer);
    } else if (gone->end.anchor) {
      // A direct path ended and the connection runs through its relay
      // again (or is about to end): try again, from the first wait.
      auto anchor = st.conns->find(*gone->end.anchor);
      if (anchor && anchor->ph == conn_table::phase::kept
          && st.conns->leads(anchor->peer)) {
        upgrades_.relayed(anchor->peer, now, unit_random());
        arm_upgrades();
      }
    }
    return true;
  }
  if (std::holds_alternative<events::endpoints_changed>(ev)) {
    upgrades_.endpoints_changed(now);
    run_upgrades();
    follower_upgrades();
    return true;
  }
  return false;
}

void punch_part::run_upgrades() {
  auto now = self_->clock().now();
  for (auto& peer : upgrades_.due(now))
    if (!start_upgrade(peer))
      upgrades_.failed(peer, now, unit_random());
  arm_upgrades();
}

bool punch_part::start_upgrade(const peer_id& peer) {
  auto& st = self_->state;
  if (st.stopping || !st.conns->wants_path(peer)
      || attempts_.size() >= max_attempts || st.listen->bound_port() == 0)
    return false;
  for (auto& [id, rec] : attempts_)
    if (rec.peer == peer)
      return false;
  std::vector<conn_id> vias;
  for (auto& [p, c] : st.conns->kept_peers())
    if (p != peer && vias.size() < max_vias)
      vias.push_back(c);
  if (vias.empty())
    return false;
  attempt_id id;
  probe_key key;
  randombytes_buf(id.data(), id.size());
  randombytes_buf(key.data(), key.size());
  spawn_attempt(true, id, key, peer, std::move(vias), std::nullopt);
  auto& rec = attempts_[id];
  rec.ours = false; // not asked for: no relay after it, no failure said
  rec.upgrade = true;
  return true;
}

// The leader keeps the schedule; when our own outside changed, the side
// that follows tries at once too (the leader would wait out its backoff
// for a change it cannot see), at most once per upgrade interval per
// peer, since address discovery may change its mind often. A try that
// fails is not retried here: the leader's schedule goes on.
void punch_part::follower_upgrades() {
  auto& st = self_->state;
  auto now = self_->clock().now();
  for (auto i = follower_tries_.begin(); i != follower_tries_.end();)
    i = st.conns->wants_path(i->first) ? std::next(i)
                                        : follower_tries_.erase(i);
  for (auto& [peer, c] : st.conns->kept_peers()) {
    auto rec = st.conns->find(c);
    if (!rec || rec->info.proto != transport::relay || rec->path
        || st.conns->leads(peer))
      continue;
    auto last = follower_tries_.find(peer);
    if (last != follower_tries_.end() && now - last->second < upgrade_interval_)
      continue;
    if (start_upgrade(peer))
      follower_tries_[peer] = now;
  }
}

// (due() checks the time.)
void punch_part::arm_upgrades() {
  arm_deadline(self_, upgrades_armed_, upgrades_.next_deadline(),
               self_->clock().now(), upgrade_atom::value);
}

} // namespace crust
