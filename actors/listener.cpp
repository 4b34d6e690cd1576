#include "actors/listener.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/atoms.hpp"
#include "actors/real_sockets.hpp"
#include "crust/errors.hpp"
#include "transports/io/tcp_socket.hpp"

namespace crust {

namespace {

// The doorman and its port, or why there is none.
caf::expected<std::pair<caf::io::accept_handle, uint16_t>>
open_doorman(caf::io::broker* self, const service_options& o) {
  if (!real_sockets(self))
    return self->add_tcp_doorman(o.listen_port, o.listen_address.c_str(),
                                 true);
  auto fd = tcp_listen(o.listen_address, o.listen_port);
  if (!fd)
    return fd.error();
  auto port = tcp_local_port(*fd);
  // CAF owns the descriptor from here (add_tcp_doorman would take an int
  // for a port number).
  return std::make_pair(self->add_doorman(*fd), port);
}

} // namespace

caf::behavior listener(caf::io::broker* self, connection_setup setup) {
  auto& o = setup.opts;
  auto bound = open_doorman(self, o);
  if (!bound) {
    auto why = error_detail(bound.error())
                 .value_or(self->system().render(bound.error()));
    self->send(setup.service,
               service_failed{"crust.listen-port: cannot listen on "
                              + o.listen_address + ":"
                              + std::to_string(o.listen_port) + ": " + why});
    self->quit();
    return {};
  }
  auto port = bound->second;
  self->send(setup.service, bound_atom::value, port);
  setup.info.inbound = true;
  setup.info.local = endpoint{transport::tcp, o.listen_address, port, {}};
  return {
    [=](const caf::io::new_connection_msg& msg) {
      auto s = setup;
      s.info.remote = endpoint{transport::tcp, self->remote_addr(msg.handle),
                               self->remote_port(msg.handle), {}};
      fork_tcp_connection(self, msg.handle, std::move(s));
    },
    [=](const caf::io::acceptor_closed_msg&) { self->quit(); },
  };
}

} // namespace crust
