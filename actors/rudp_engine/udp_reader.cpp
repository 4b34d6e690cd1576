#include "actors/rudp_engine/udp_reader.hpp"

#include <caf/all.hpp>

#include <poll.h>
#include <unistd.h>

#include "actors/atoms.hpp"

namespace crust {

namespace {

// How long one wait blocks: the reader checks its mailbox (an exit from
// the engine) at least this often.
constexpr int poll_ms = 10;

} // namespace

caf::behavior udp_reader(caf::event_based_actor* self, int fd,
                         rudp_socket ep, rudp_engine_actor engine) {
  self->attach_functor([fd] { ::close(fd); });
  self->send(self, udp_read_atom::value);
  return {
    [=](udp_read_atom) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, poll_ms) <= 0 || !(p.revents & POLLIN)) {
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
