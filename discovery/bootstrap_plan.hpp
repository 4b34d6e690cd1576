// Which endpoints a bootstrap round dials, when, and when it is over.
// Sans-I/O: the bootstrap actor feeds outcomes and the time and asks what
// is due. Cache entries (best first) and contacts are dialled in parallel,
// at most `concurrency` at once; a failed target is retried after an
// exponential backoff with jitter, up to `attempts` times. The round ends
// when `target` connections are kept, or when nothing is left to try.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "crust/endpoint.hpp"

namespace crust {

class bootstrap_plan {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  struct settings {
    size_t concurrency = 4;
    size_t target = 4;
    uint32_t attempts = 3;
    duration backoff = std::chrono::seconds(1);
    duration backoff_cap = std::chrono::seconds(30);
  };

  enum class state { running, finished, failed };

  /// `cache` before `contacts`; a contact that names an endpoint the cache
  /// already lists is dialled once.
  bootstrap_plan(settings s, std::vector<endpoint> cache,
                 std::vector<endpoint> contacts, uint64_t seed);

  /// Endpoints to dial now (each is then in flight until its outcome).
  std::vector<endpoint> due(time_point now);

  /// The dial reached a peer the node keeps.
  void reached(const endpoint& ep);

  /// The dial failed: retried later, or given up with `reason` kept.
  void failed(const endpoint& ep, const std::string& reason, time_point now);

  /// No point in retrying (e.g. the application dropped the peer).
  void gave_up(const endpoint& ep, const std::string& reason);

  /// How many connections the node keeps now (any origin).
  void kept(size_t n) {
    kept_ = n;
  }

  state status() const;

  /// When something next becomes due, if anything will.
  std::optional<time_point> next_due() const;

  /// Why each abandoned target was abandoned (its last failure).
  std::vector<std::string> reasons() const;

  size_t kept() const {
    return kept_;
  }

  /// The delay before attempt `n` (n >= 1 failures so far), jitter aside.
  duration backoff_for(uint32_t failures) const;

private:
  struct target {
    endpoint ep;
    uint32_t failures = 0;
    bool in_flight = false;
    bool done = false; // reached, or given up
    bool reached = false;
    time_point next;
    std::string last_error;
  };

  target* find(const endpoint& ep);

  settings cfg_;
  std::vector<target> targets_;
  size_t kept_ = 0;
  std::mt19937_64 rng_;
};

std::string to_string(bootstrap_plan::state x);

} // namespace crust
