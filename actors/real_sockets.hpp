// Whether a broker runs on real sockets (CAF's default multiplexer) or on
// CAF's test multiplexer, whose handles are not descriptors: what crust
// does with descriptors itself (its own listening socket, shutting a
// socket down) it does only on real ones.
#pragma once

#include <caf/io/abstract_broker.hpp>
#include <caf/io/network/default_multiplexer.hpp>

namespace crust {

inline bool real_sockets(caf::io::abstract_broker* self) {
  return dynamic_cast<caf::io::network::default_multiplexer*>(&self->backend())
         != nullptr;
}

} // namespace crust
