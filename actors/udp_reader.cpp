#include "actors/udp_reader.hpp"

#include <caf/all.hpp>

#include <poll.h>
#include <unistd.h>

#include "actors/atoms.hpp"

namespace crust {

namespace {

// How long one wait blocks: the reader checks its mailbox (an exit from
// the engine) at least this often.
constexpr int poll_ms = 10;
constexpr size_t batch_max = 256;

} // namespace

caf::behavior udp_reader(caf::event_based_actor* self, int fd, uint32_t ep,
                         caf::actor engine) {
  self->attach_functor([fd] { ::close(fd); });
  self->send(self, udp_read_atom::value);
  return {
    [=](udp_read_atom) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, poll_ms) <= 0 || !(p.revents & POLLIN)) {
        self->send(self, udp_read_atom::value);
        return;
      }
      auto batch = std::make_shared<std::vector<udp_datagram>>();
      udp_read_batch(fd, *batch, batch_max);
      self->request(engine, caf::infinite, udp_batch_atom::value, ep, batch)
        .then([=](caf::ok_atom) { self->send(self, udp_read_atom::value); },
              [=](caf::error&) { self->quit(); });
    },
  };
}

} // namespace crust
