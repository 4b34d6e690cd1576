// When to try a direct path again to each peer whose connection runs
// through a relay (docs/DESIGN.md, "Relay"). Sans-I/O: the service tells
// it which peers are relayed and what became of each try, and polls it
// with the time for the peers due now and for its next deadline.
//
// A relayed peer is first tried `first` after it was kept (its punch had
// just failed), then after twice as long each time, up to `max`, each
// wait stretched or shrunk by up to `jitter` of itself so that many
// relayed peers do not try in step. When our outside endpoints change,
// every relayed peer is due at once (a NAT that changed may let us
// through now), and its backoff starts over.
//
// Per peer (the only transitions):
//
//   (none)   --relayed()-----------------> waiting (next = now + first)
//   waiting  --due() at or after next----> trying
//   waiting  --endpoints_changed()-------> waiting (next = now, backoff reset)
//   trying   --failed()------------------> waiting (next = now + backoff,
//                                                   backoff doubled to max)
//   trying   --endpoints_changed()-------> trying (due again once it fails)
//   any      --direct() or gone()--------> (none)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "crust/peer_id.hpp"

namespace crust {

class upgrade_schedule {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  struct settings {
    duration first = std::chrono::seconds(30);
    duration max = std::chrono::minutes(10);
    /// Each wait is scaled by a factor in [1 - jitter, 1 + jitter].
    double jitter = 0.2;
  };

  explicit upgrade_schedule(settings s) : cfg_(s) {
  }

  /// `peer`'s connection runs through a relay now (kept, no direct
  /// path). `unit` in [0, 1) picks the jitter (a random number).
  void relayed(const peer_id& peer, time_point now, double unit);

  /// `peer`'s connection moved to a direct path: no more tries.
  void direct(const peer_id& peer);

  /// `peer`'s connection is gone.
  void gone(const peer_id& peer) {
    direct(peer);
  }

  /// The try due for `peer` did not reach it (or could not start).
  void failed(const peer_id& peer, time_point now, double unit);

  /// Our outside endpoints changed: every relayed peer is due now.
  void endpoints_changed(time_point now);

  /// The peers to try now; each is `trying` until failed() or direct().
  std::vector<peer_id> due(time_point now);

  /// The earliest time a waiting peer is due.
  std::optional<time_point> next_deadline() const;

  size_t size() const {
    return peers_.size();
  }

  bool trying(const peer_id& peer) const {
    auto i = peers_.find(peer);
    return i != peers_.end() && i->second.is_trying;
  }

private:
  struct entry {
    bool is_trying = false;
    /// Try again as soon as the running try fails.
    bool again = false;
    duration backoff{};
    time_point next{};
  };

  duration jittered(duration d, double unit) const;

  settings cfg_;
  std::unordered_map<peer_id, entry> peers_;
};

} // namespace crust
