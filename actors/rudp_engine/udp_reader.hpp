// Waits for the rudp socket to become readable on a thread of its own
// (spawn detached) and then asks the engine to read it, one request at a
// time: the engine reads straight from the kernel into its own buffers
// (no copy per datagram, one reader, so no reordering), and while it is
// busy datagrams wait in the kernel (past its buffer they are dropped, as
// the network would drop them), never in a mailbox. Owns the fd from
// spawn on and closes it when it stops.
#pragma once

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/rudp_engine/engine.hpp"

namespace crust {

/// Sends (udp_readable_atom, socket) requests to `engine`, which answers
/// once it read what was waiting.
caf::behavior udp_reader(caf::event_based_actor* self, int fd,
                         rudp_socket socket, rudp_engine_actor engine);

} // namespace crust
