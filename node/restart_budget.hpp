// How often a crashed child may come back: after a delay that doubles with
// each crash still inside the window, and not at all once `max_crashes`
// fall inside it (a child that keeps crashing is a bug, not bad luck).
// Sans-I/O: the caller says when a crash happened and waits the delay.
#pragma once

#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

namespace crust {

class restart_budget {
public:
  using time_point = std::chrono::steady_clock::time_point;

  struct limits {
    size_t max_crashes = 5;
    caf::timespan window = std::chrono::minutes(1);
    caf::timespan first_delay = std::chrono::seconds(1);
    caf::timespan max_delay = std::chrono::seconds(30);
  };

  restart_budget() = default;

  explicit restart_budget(limits l) : limits_(l) {
    // nop
  }

  /// A crash at `now`: how long to wait before the restart, or nothing
  /// when the budget is spent.
  std::optional<caf::timespan> on_crash(time_point now) {
    while (!crashes_.empty() && now - crashes_.front() >= limits_.window)
      crashes_.pop_front();
    crashes_.push_back(now);
    if (crashes_.size() >= limits_.max_crashes)
      return std::nullopt;
    auto delay = limits_.first_delay;
    for (size_t i = 1; i < crashes_.size() && delay < limits_.max_delay; ++i)
      delay *= 2;
    return std::min(delay, limits_.max_delay);
  }

  /// Crashes inside the window, as of the last one.
  size_t crashes() const {
    return crashes_.size();
  }

  const limits& bounds() const {
    return limits_;
  }

private:
  limits limits_;
  std::deque<time_point> crashes_;
};

} // namespace crust
