// Timers for crust's actors.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/timespan.hpp>

namespace crust {

/// Sends `xs` to `self` after `after`, without a sender: a message an actor
/// sends itself holds a strong reference to it, and one still queued when
/// the actor stops would keep it alive for ever.
template <class Self, class... Ts>
void set_timer(Self* self, caf::timespan after, Ts... xs) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), after, xs...);
}

} // namespace crust
