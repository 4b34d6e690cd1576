// Reads the rudp socket on a thread of its own (spawn detached) and hands
// the engine batches of datagrams, one batch in flight at a time: while
// the engine is busy, datagrams wait in the kernel (and past its buffer
// are dropped, as the network would), never in a mailbox. Owns the fd
// from spawn on and closes it when it stops.
#pragma once

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>

#include <memory>
#include <vector>

#include "transports/udp_socket.hpp"

using udp_batch = std::shared_ptr<std::vector<crust::udp_datagram>>;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(udp_batch)

namespace crust {

/// Sends (udp_batch_atom, uint32_t ep, udp_batch) requests to `engine`.
caf::behavior udp_reader(caf::event_based_actor* self, int fd, uint32_t ep,
                         caf::actor engine);

} // namespace crust
