#include "actors/dialer.hpp"

#include <caf/all.hpp>
#include <caf/io/network/native_socket.hpp>

#include "actors/atoms.hpp"
#include "crust/errors.hpp"
#include "transports/io/tcp_socket.hpp"

namespace crust {

caf::behavior dialer(caf::event_based_actor* self, endpoint target,
                     caf::timespan timeout) {
  return {
    [=](dial_atom) -> caf::result<caf::io::network::native_socket, endpoint> {
      self->quit();
      auto r = tcp_dial(ip_endpoint{target.host, target.port}, timeout);
      if (r.fd < 0)
        return make_error(errc::unreachable, r.error);
      endpoint local{transport::tcp, r.local.ip, r.local.port, {}};
      return {static_cast<caf::io::network::native_socket>(r.fd), local};
    },
  };
}

} // namespace crust
