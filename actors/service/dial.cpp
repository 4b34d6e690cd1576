// Dialling, for the application (connect) and for bootstrap rounds: the
// checks before any packet leaves, a detached dialer for the connect
// itself, and a connection broker for the socket it returns.
#include "actors/service/state.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/atoms.hpp"
#include "actors/dialer.hpp"
#include "crust/errors.hpp"
#include "crust/messages.hpp"

#include <functional>

namespace crust {

namespace {

// A dial that never made a connection: the application hears about its
// own dials, a bootstrap round about its.
void not_dialled(self_ptr self, const endpoint& target, origin from,
                 const std::string& reason) {
  events::dial_failed ev{target, std::nullopt};
  if (from == origin::bootstrap_out)
    ev.round = conn_table::ending::bootstrap_result{false, true, reason};
  fan_out(self, ev);
  if (from == origin::direct) // discovery's own attempts stay quiet
    self->send(self->state.handler,
               connection_failed{to_string(target), reason});
}

} // namespace

namespace {

using failure = std::function<void(const std::string&)>;

// The TCP dial: a detached dialer connects, a connection broker takes
// the socket.
void dial_tcp(self_ptr self, const endpoint& target, origin from,
              failure failed) {
  auto& st = self->state;
  auto d = self->home_system().spawn<caf::detached>(dialer, target,
                                                    st.opts.connect_timeout);
  auto margin = std::chrono::seconds(5);
  self->request(d, st.opts.connect_timeout + margin, dial_atom::value)
    .then(
      [=](caf::io::network::native_socket fd, const endpoint& local) {
        auto& st = self->state;
        if (st.stopping) {
          caf::io::network::close_socket(fd);
          return;
        }
        auto setup = make_setup(self);
        setup.target = target;
        setup.info.from = from;
        setup.info.local = local;
        setup.info.remote = target;
        setup.info.remote.pinned = caf::none;
        register_dialled(self,
                         spawn_tcp_connection(self->home_system(), fd, setup),
                         setup);
      },
      [=](caf::error& err) {
        auto detail = err.category() == error_category ? error_detail(err)
                                                         : std::nullopt;
        failed(detail ? *detail : self->system().render(err));
      });
}

endpoint twin(endpoint e, transport t) {
  e.proto = t;
  return e;
}

} // namespace

void connect_to(self_ptr self, const endpoint& target, origin from) {
  auto& st = self->state;
  if (target.proto == transport::relay)
    return not_dialled(self, target, from,
                       "a relay endpoint is not dialled: connect_peer reaches "
                       "a peer through a relay");
  auto& policy = st.conns->policy();
  if (policy.blocked(target.host)
      || (target.pinned && policy.blocked(*target.pinned)))
    return not_dialled(self, target, from, "blacklisted");
  if (target.pinned ? !policy.allowed(target.host, *target.pinned)
                    : !policy.may_be_allowed(target.host))
    return not_dialled(self, target, from, "not on the allow list");
  auto give_up = [=](const std::string& reason) {
    not_dialled(self, target, from, reason);
  };
  // udp:// is what the caller asked for: UDP only.
  if (target.proto == transport::rudp)
    return st.listen->dial_rudp(target, from, give_up);
  auto udp = twin(target, transport::rudp);
  if (st.opts.prefer_transport == "udp" && st.listen->rudp_ready())
    return st.listen->dial_rudp(udp, from, [=](const std::string& why_udp) {
      dial_tcp(self, target, from, [=](const std::string& why_tcp) {
        give_up("udp: " + why_udp + "; tcp: " + why_tcp);
      });
    });
  // TCP first. A refusal means the host answered and nobody listens: UDP
  // would meet the same. Silence or unreachability may be a filter that
  // lets UDP through (the peer's UDP socket shares the TCP port).
  dial_tcp(self, target, from, [=](const std::string& why_tcp) {
    auto& listen = self->state.listen;
    if (!listen->rudp_ready() || why_tcp.find("refused") != std::string::npos)
      return give_up(why_tcp);
    listen->dial_rudp(udp, from, [=](const std::string& why_udp) {
      give_up("tcp: " + why_tcp + "; udp: " + why_udp);
    });
  });
}

} // namespace crust
