// One hole-punching attempt: an actor around a punch_attempt (its phases
// and rounds, nat/punch/attempt). It signs its signals and hands them to
// the service, which forwards them through the mutual peer; it hears the
// peer's signals from the service; for each round's plan it runs a TCP
// punch from the listen port on a thread of its own (transports/io
// tcp_socket `tcp_punch`) and hands a connected socket to the service,
// which runs it as a connection like any dial. Over UDP it has the rudp
// engine watch the attempt on the service's socket (its probes answered,
// and reported here), sends the attempt's probes through the engine, and
// asks the service to start the rudp handshake on the validated path when
// the attempt says so. It registers the attempt
// so that a connection the listener accepts can join it by its
// PUNCH_HELLO, and ends once the peer is connected or the attempt failed.
//
// From the service:
//   (punch_in_atom, bytes): a signal of this attempt from the peer
//       (verified again here, so nothing unverified reaches the attempt)
//   (punch_path_atom, bool udp): a connection of this attempt proved the
//       peer
//   (punch_path_failed_atom, bool udp): a path's handshake failed
//   (punch_cancel_atom, reason): give up (the mutual peers refused)
// To the service:
//   (punch_out_atom, peer_id to, bytes): a signal to forward
//   (punch_udp_atom, attempt bytes, ip, port): start the rudp handshake
//       with the peer there (a validated path)
// From the rudp engine: rudp_probed_atom, rudp_acked_atom (engine.hpp)
// From its puncher (a thread per round) to the service:
//   (punch_fd_atom, native_socket, ip, port, attempt bytes): a punched
//       TCP socket, to run as a connection (closed when the attempt is
//       gone)
//   (punch_udp_fd_atom, int fd, ip, port, attempt bytes): birthday mode's
//       socket whose mapping the peer's spray found, the peer there (closed
//       when the attempt is gone)
//   (punch_done_atom, attempt bytes, bool connected, uint8_t round,
//       reasons) last: round is the one it connected or ended in
#pragma once

#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <memory>
#include <optional>
#include <string>

#include "actors/punch_registry.hpp"
#include "actors/rudp_engine/engine.hpp"
#include "nat/punch/attempt.hpp"
#include "transports/identity.hpp"
#include "transports/ip_endpoint.hpp"

namespace crust {

using punch_in_atom = caf::atom_constant<caf::atom("punch_in")>;
using punch_out_atom = caf::atom_constant<caf::atom("punch_out")>;
using punch_path_atom = caf::atom_constant<caf::atom("punch_path")>;
using punch_cancel_atom = caf::atom_constant<caf::atom("punch_cncl")>;
using punch_fd_atom = caf::atom_constant<caf::atom("punch_fd")>;
using punch_done_atom = caf::atom_constant<caf::atom("punch_done")>;
using punch_udp_atom = caf::atom_constant<caf::atom("punch_udp")>;
using punch_udp_fd_atom = caf::atom_constant<caf::atom("punch_ufd")>;
using punch_path_failed_atom = caf::atom_constant<caf::atom("punch_pfl")>;

struct hole_punch_setup {
  punch_attempt::role role = punch_attempt::role::offerer;
  attempt_id attempt{};
  probe_key key{};
  peer_id peer;
  std::shared_ptr<const identity> me;
  std::string network;
  punch_attempt::local_info ours;
  punch_attempt::settings settings;
  /// Where our listener is: the punch's sockets bind it too.
  ip_endpoint local;
  caf::actor service;
  /// The rudp engine and the service's socket in it (null, none: no UDP).
  rudp_engine_actor rudp;
  rudp_socket udp;
  std::shared_ptr<punch_registry> registry;
  /// The answerer's: the OFFER that started it. Signalled by the
  /// application (connect_with): the peer's half, and no signals at all.
  std::optional<punch_signal> offer;
  bool signalled = false;
};

struct hole_punch_state {
  std::optional<punch_attempt> attempt;
  std::optional<punch_attempt::time_point> armed;
  bool reported = false;
  static inline const char* name = "crust.hole_punch";
};

caf::behavior hole_punch(caf::stateful_actor<hole_punch_state>* self,
                         hole_punch_setup setup);

} // namespace crust
