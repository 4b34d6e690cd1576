// Dials one endpoint on a thread of its own, so a slow or silent target
// never stalls CAF's I/O loop (a broker's add_tcp_scribe connects
// blocking). Replies (native_socket fd, endpoint local) or an error.
#pragma once

#include <caf/atom.hpp>

#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

#include "crust/endpoint.hpp"

namespace crust {

// -- atoms: from the service -----------------------------------------

using dial_atom = caf::atom_constant<caf::atom("dial")>;

/// Spawn detached; answers one dial_atom request with the outcome of
/// dialling `target`, then quits. (It takes its work as spawn arguments:
/// CAF 0.17 dereferences a null pointer for functions spawned without any.)
caf::behavior dialer(caf::event_based_actor* self, endpoint target,
                     caf::timespan timeout);

} // namespace crust
