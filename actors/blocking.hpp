// Actors that block in system calls (file I/O, miniupnpc, a poll loop)
// get threads of their own, except under CAF's deterministic test
// scheduler: it runs every actor on the test's thread, and a thread of
// the child's own would enqueue into it concurrently. Tests (crust's and
// an application's) then keep every step in their hands.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/spawn_options.hpp>

#include <utility>

namespace crust {

/// Whether `sys` runs on CAF's deterministic test scheduler.
inline bool deterministic_scheduler(caf::actor_system& sys) {
  return caf::get_or(sys.config(), "scheduler.policy", caf::atom("sharing"))
         == caf::atom("testing");
}

/// Spawns `fun` detached, or as a pooled actor under the test scheduler.
template <class F, class... Ts>
caf::actor spawn_blocking(caf::actor_system& sys, F fun, Ts&&... xs) {
  if (deterministic_scheduler(sys))
    return sys.spawn(fun, std::forward<Ts>(xs)...);
  return sys.spawn<caf::detached>(fun, std::forward<Ts>(xs)...);
}

} // namespace crust
