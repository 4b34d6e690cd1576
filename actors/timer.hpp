// Timers for crust's actors.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/timespan.hpp>

#include <optional>

namespace crust {

/// Sends `xs` to `self` after `after`, without a sender: a message an actor
/// sends itself holds a strong reference to it, and one still queued when
/// the actor stops would keep it alive for ever.
template <class Self, class... Ts>
void set_timer(Self* self, caf::timespan after, Ts... xs) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), after, xs...);
}

/// Sends `xs` to `self` at `due`, unless a message for `due` or an
/// earlier deadline is on its way already (`armed` remembers which; the
/// handler resets it). One message per earliest deadline: one for a later
/// deadline still on its way is harmless when the handler checks the time.
template <class Self, class TimePoint, class... Ts>
void arm_deadline(Self* self, std::optional<TimePoint>& armed,
                  const std::optional<TimePoint>& due, TimePoint now,
                  Ts... xs) {
  if (!due || (armed && *armed <= *due))
    return;
  armed = due;
  set_timer(self, *due > now ? caf::timespan{*due - now} : caf::timespan{0},
            xs...);
}

} // namespace crust
