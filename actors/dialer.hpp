// Dials one endpoint on a thread of its own, so a slow or silent target
// never stalls CAF's I/O loop (a broker's add_tcp_scribe connects
// blocking). Replies (native_socket fd, endpoint local) or an error.
#pragma once

#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include "crust/endpoint.hpp"

namespace crust {

/// Spawn detached; answers one (dial_atom, endpoint, timespan timeout)
/// request, then quits.
caf::behavior dialer(caf::event_based_actor* self);

} // namespace crust
