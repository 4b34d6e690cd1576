#include "actors/listener.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/atoms.hpp"

namespace crust {

caf::behavior listener(caf::io::broker* self, connection_setup setup) {
  auto& o = setup.opts;
  auto bound = self->add_tcp_doorman(o.listen_port, o.listen_address.c_str(),
                                     true);
  if (!bound) {
    self->send(setup.service,
               service_failed{"crust.listen-port: cannot listen on "
                              + o.listen_address + ":"
                              + std::to_string(o.listen_port) + ": "
                              + self->system().render(bound.error())});
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
