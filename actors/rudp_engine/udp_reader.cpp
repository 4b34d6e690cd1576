#include "actors/rudp_engine/udp_reader.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "transports/io/udp_socket.hpp"

namespace crust {

namespace {

// How long one wait blocks: the reader checks its mailbox (an exit from
// the engine) at least this often.
constexpr int poll_ms = 10;

} // namespace

caf::behavior udp_reader(caf::event_based_actor* self, int fd,
                         rudp_socket ep, rudp_engine_actor engine) {
  self->attach_functor([fd] { udp_close(fd); });
  self->send(self, udp_read_atom::value);
  return {
    [=](udp_read_atom) {
      if (!udp_wait_readable(fd, poll_ms)) {
        self->send(self, udp_read_atom::value);
        return;
      }
      self->request(engine, caf::infinite, udp_readable_atom::value, ep)
        .then([=](caf::ok_atom) { self->send(self, udp_read_atom::value); },
              [=](caf::error&) { self->quit(); });
    },
  };
}

} // namespace crust
