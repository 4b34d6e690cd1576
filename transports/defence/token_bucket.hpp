// A token bucket: `rate` tokens per second, holding at most `burst`.
// Sans-I/O: the caller passes the time, so tests drive it with a
// deterministic clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace crust {

class token_bucket {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  /// Starts full at `now`.
  token_bucket(double rate, double burst, time_point now);

  /// Takes `n` tokens when there are enough; false (and nothing taken)
  /// otherwise.
  bool take(double n, time_point now);

  /// Takes `n` tokens even when that leaves the bucket in debt: for bytes
  /// already read, which must be paid for before more are read.
  void charge(double n, time_point now);

  /// How long until the bucket holds `n` tokens (zero when it does).
  duration wait_for(double n, time_point now);

  double available(time_point now);

private:
  void refill(time_point now);

  double rate_;
  double burst_;
  double tokens_;
  time_point last_;
};

} // namespace crust
