// The service's listening, a part with state of its own: the TCP listener
// (a child the supervision helper keeps) and the port it bound, our UDP
// socket in the process's rudp engine (the same port when free), where we
// listen (the `listening` event, which also starts the beacon and NAT
// traversal), rudp dials, and connections for sessions peers start; and
// moving both ports to new random ones over time (port_rotation.cpp,
// crust.rotate-ports-interval).
#pragma once

#include <caf/message_handler.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "actors/rudp_engine/engine.hpp"
#include "crust/endpoint.hpp"
#include "crust/messages.hpp"
#include "node/port_rotation.hpp"

namespace crust {

/// From ourselves: a move of the ports is due, or its grace is over.
using rotate_atom = caf::atom_constant<caf::atom("rotate")>;

struct service_state;

class listening_part {
public:
  using self_ptr = caf::stateful_actor<service_state>*;

  explicit listening_part(self_ptr self) : self_(self) {
    // nop
  }

  /// From the listener (bound), from the rudp engine (a session a peer
  /// started; a peer that misbehaved before its connection existed) and
  /// from ourselves (stop_rudp: the shutdown's CLOSEs had their moment;
  /// rotate: a move of the ports is due, or its grace is over).
  caf::message_handler handlers();

  /// Spawns the listener (again after a failure: on the port it had).
  void spawn_listener();

  /// Where a move of the ports stands (none before we first listened).
  const std::optional<port_rotation>& rotation() const {
    return rotation_;
  }

  /// The TCP port we listen on (0: not bound yet).
  uint16_t bound_port() const {
    return bound_port_;
  }

  /// Whether rudp dials can go out.
  bool rudp_ready() const;

  /// The engine and our socket in it, for hole punching's probes (null
  /// and none while rudp is off), and the socket's port (0: none).
  const rudp_engine_actor& rudp_engine() const {
    return rudp_;
  }
  rudp_socket rudp_ep() const {
    return rudp_ep_;
  }
  uint16_t udp_port() const {
    return udp_port_;
  }

  /// Dials `target` (udp://) over rudp; `failed` hears why not.
  void dial_rudp(const endpoint& target, origin from,
                 std::function<void(const std::string&)> failed);

  /// A hole punch's own UDP socket `fd` (birthday mode) joins the engine
  /// for one session with `target`, the peer there: we start the handshake
  /// when `dial` (the session is then a punched dial), else the peer's
  /// comes in on it. `failed` hears why not.
  void adopt_rudp(int fd, const endpoint& target, bool dial,
                  std::function<void(const std::string&)> failed);

  /// Shutting down: the listener stops; the UDP socket goes a moment
  /// later, once the connections' CLOSEs went out (the service waits).
  void stop();

private:
  void spawn_listener_on(uint16_t port);
  void open_rudp(uint16_t port, bool last_try);
  void on_bound(uint16_t port);
  /// A socket that serves its sessions until they end (adopted_).
  void remember(rudp_socket ep, uint16_t port);
  // Moving the ports (port_rotation.cpp).
  void start_rotation();
  void arm_rotation();
  void on_rotate();
  void begin_move();
  void end_move();
  void close_rudp();
  void announce();
  void on_rudp_session(rudp_socket ep, uint16_t port, rudp_session session,
                       const endpoint& target, origin from);
  void on_rudp_inbound(rudp_socket ep, rudp_session session,
                       const std::string& ip, uint16_t port, bool punched);

  self_ptr self_;
  uint16_t bound_port_ = 0;
  /// The process's engine (null: rudp off), our socket in it (none: not
  /// open) and its port.
  rudp_engine_actor rudp_;
  rudp_socket rudp_ep_;
  uint16_t udp_port_ = 0;
  /// Sockets that serve their sessions until those end, and their ports:
  /// adopted for one punched session each, or left behind by a move.
  std::map<uint32_t, uint16_t> adopted_;
  /// Moving the ports: the schedule and the step of a move; the timer
  /// on its way; what a move left behind, until its grace is over.
  std::optional<port_rotation> rotation_;
  std::optional<caf::actor_clock::time_point> rotation_armed_;
  caf::actor old_listener_;
  uint16_t old_tcp_port_ = 0;
  rudp_socket old_rudp_;
};

} // namespace crust
