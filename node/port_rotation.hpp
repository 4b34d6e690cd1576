// When the node's listening ports move (crust.rotate-ports-interval), and
// where one move stands (docs/DESIGN.md, "Moving ports"). Sans-I/O: the
// listening part tells it what happened and asks it, with the time, what
// is due; it never touches a socket.
//
// A move binds a new TCP listener and UDP socket on random ports, tells
// everyone where we listen now, and lets the old ones serve for `grace`
// (a peer that had not heard yet still gets in) before they close and
// their port mapping goes. Each wait between moves is `interval` scaled
// by a factor in [1 - jitter, 1 + jitter], drawn anew each time, so that
// an observer cannot tell the next move from the last; it runs from the
// end of the previous move (moves never overlap).
//
// The only transitions:
//
//   off                                            (interval 0 or a fixed port)
//   waiting  --begin() at or after due-----------> binding
//   binding  --bound(now)------------------------> draining (until now + grace)
//   binding  --failed(now, unit)-----------------> waiting  (old ports stay;
//                                                   next = now + a wait)
//   draining --drained() at or after its end-----> waiting  (next = now + a wait)
#pragma once

#include <chrono>
#include <optional>

namespace crust {

class port_rotation {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  enum class phase { off, waiting, binding, draining };

  struct settings {
    /// 0: off.
    duration interval{0};
    duration grace = std::chrono::seconds(60);
    double jitter = 0.25;
  };

  /// `unit` in [0, 1) draws the first wait (a random number).
  port_rotation(settings s, time_point now, double unit);

  phase state() const {
    return phase_;
  }

  /// When to look again (none: off): the next move, or the end of the
  /// old ports' grace.
  std::optional<time_point> deadline() const;

  /// Whether a move is due now (then begin() it).
  bool due(time_point now) const {
    return phase_ == phase::waiting && now >= next_;
  }

  void begin();

  /// The new ports are bound and announced: the old ones drain.
  void bound(time_point now);

  /// The new ports could not be bound: we stay where we are.
  void failed(time_point now, double unit);

  /// Whether the old ports' grace is over now (then close them and call
  /// drained()).
  bool drain_over(time_point now) const {
    return phase_ == phase::draining && now >= next_;
  }

  void drained(time_point now, double unit);

  /// One wait between moves, for `unit` in [0, 1).
  duration wait(double unit) const;

private:
  settings cfg_;
  phase phase_;
  time_point next_;
};

} // namespace crust
