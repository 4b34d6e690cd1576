#include "node/port_rotation.hpp"

#include <algorithm>

namespace crust {

port_rotation::port_rotation(settings s, time_point now, double unit)
  : cfg_(s),
    phase_(s.interval.count() > 0 ? phase::waiting : phase::off),
    next_(now) {
  if (phase_ == phase::waiting)
    next_ = now + wait(unit);
}

std::optional<port_rotation::time_point> port_rotation::deadline() const {
  if (phase_ == phase::waiting || phase_ == phase::draining)
    return next_;
  return std::nullopt;
}

port_rotation::duration port_rotation::wait(double unit) const {
  unit = std::clamp(unit, 0.0, 1.0);
  auto factor = 1.0 - cfg_.jitter + 2.0 * cfg_.jitter * unit;
  auto d = std::chrono::duration_cast<duration>(cfg_.interval * factor);
  return std::max(d, duration{std::chrono::seconds(1)});
}

void port_rotation::begin() {
  if (phase_ == phase::waiting)
    phase_ = phase::binding;
}

void port_rotation::bound(time_point now) {
  if (phase_ != phase::binding)
    return;
  phase_ = phase::draining;
  next_ = now + cfg_.grace;
}

void port_rotation::failed(time_point now, double unit) {
  if (phase_ != phase::binding)
    return;
  phase_ = phase::waiting;
  next_ = now + wait(unit);
}

void port_rotation::drained(time_point now, double unit) {
  if (phase_ != phase::draining)
    return;
  phase_ = phase::waiting;
  next_ = now + wait(unit);
}

} // namespace crust
