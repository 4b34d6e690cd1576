#include "node/upgrade_schedule.hpp"

#include <algorithm>

namespace crust {

upgrade_schedule::duration upgrade_schedule::jittered(duration d,
                                                      double unit) const {
  auto factor = 1.0 + cfg_.jitter * (2.0 * std::clamp(unit, 0.0, 1.0) - 1.0);
  return std::chrono::duration_cast<duration>(d * factor);
}

void upgrade_schedule::relayed(const peer_id& peer, time_point now,
                               double unit) {
  auto& e = peers_[peer];
  e = entry{};
  e.backoff = cfg_.first;
  e.next = now + jittered(cfg_.first, unit);
}

void upgrade_schedule::direct(const peer_id& peer) {
  peers_.erase(peer);
}

void upgrade_schedule::failed(const peer_id& peer, time_point now,
                              double unit) {
  auto i = peers_.find(peer);
  if (i == peers_.end() || !i->second.is_trying)
    return;
  auto& e = i->second;
  e.is_trying = false;
  if (e.again) {
    e.again = false;
    e.next = now;
    return;
  }
  e.backoff = std::min(e.backoff * 2, cfg_.max);
  e.next = now + jittered(e.backoff, unit);
}

void upgrade_schedule::endpoints_changed(time_point now) {
  for (auto& [peer, e] : peers_) {
    e.backoff = cfg_.first;
    if (e.is_trying)
      e.again = true;
    else
      e.next = now;
  }
}

std::vector<peer_id> upgrade_schedule::due(time_point now) {
  std::vector<peer_id> out;
  for (auto& [peer, e] : peers_)
    if (!e.is_trying && e.next <= now) {
      e.is_trying = true;
      out.push_back(peer);
    }
  return out;
}

std::optional<upgrade_schedule::time_point>
upgrade_schedule::next_deadline() const {
  std::optional<time_point> out;
  for (auto& [peer, e] : peers_)
    if (!e.is_trying && (!out || e.next < *out))
      out = e.next;
  return out;
}

} // namespace crust
