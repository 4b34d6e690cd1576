// The reliable-UDP engine: one per actor system, shared by every service
// in it, because usrsctp is one stack per process and wants its calls
// and timer ticks from one place. It owns each service's rudp socket and
// datagram channel (transports/datagram/channel), ticks the SCTP stack
// every few milliseconds while sessions exist, and carries frames between
// sessions and their connection actors (actors/connection, over rudp).
//
// Its interface is the typed actor rudp_engine_actor below (CAF's
// middleman_actor.hpp is the model: the protocol in words, then the
// checked alias). Sockets and sessions are named by handle types, as CAF
// names connections, never by bare integers.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/atoms.hpp"
#include "crust/endpoint.hpp"
#include "crust/peer_id.hpp"
#include "transports/datagram/channel.hpp"

using rudp_settings = std::shared_ptr<crust::datagram_channel::settings>;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rudp_settings)

namespace crust {

/// A service's UDP socket in the engine (0: none).
struct rudp_socket {
  uint32_t id = 0;
  explicit operator bool() const {
    return id != 0;
  }
  friend bool operator==(rudp_socket a, rudp_socket b) {
    return a.id == b.id;
  }
  friend bool operator!=(rudp_socket a, rudp_socket b) {
    return a.id != b.id;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rudp_socket& x) {
  return f(caf::meta::type_name("rudp_socket"), x.id);
}

/// A session on one of those sockets: one peer's association.
struct rudp_session {
  uint32_t id = 0;
  friend bool operator==(rudp_session a, rudp_session b) {
    return a.id == b.id;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rudp_session& x) {
  return f(caf::meta::type_name("rudp_session"), x.id);
}

/// Frames between a session and its connection actor, each
/// [stream u8][type u8][body].
using rudp_frames = std::vector<std::vector<uint8_t>>;

// -- the engine's atoms ---------------------------------------------------------

using rudp_open_atom = caf::atom_constant<caf::atom("rudp_open")>;
using rudp_dial_atom = caf::atom_constant<caf::atom("rudp_dial")>;
using rudp_inbound_atom = caf::atom_constant<caf::atom("rudp_in")>;
using rudp_attach_atom = caf::atom_constant<caf::atom("rudp_att")>;
using rudp_send_atom = caf::atom_constant<caf::atom("rudp_send")>;
using rudp_sent_atom = caf::atom_constant<caf::atom("rudp_sent")>;
using rudp_frames_atom = caf::atom_constant<caf::atom("rudp_frm")>;
using rudp_down_atom = caf::atom_constant<caf::atom("rudp_down")>;
using rudp_pause_atom = caf::atom_constant<caf::atom("rudp_pause")>;
using rudp_end_atom = caf::atom_constant<caf::atom("rudp_end")>;
using rudp_close_atom = caf::atom_constant<caf::atom("rudp_close")>;
using rudp_tick_atom = caf::atom_constant<caf::atom("rudp_tick")>;
using rudp_adopt_atom = caf::atom_constant<caf::atom("rudp_adopt")>;
using rudp_idle_atom = caf::atom_constant<caf::atom("rudp_idle")>;
using rudp_retire_atom = caf::atom_constant<caf::atom("rudp_retir")>;
using rudp_watch_atom = caf::atom_constant<caf::atom("rudp_watch")>;
using rudp_unwatch_atom = caf::atom_constant<caf::atom("rudp_unwat")>;
using rudp_probe_atom = caf::atom_constant<caf::atom("rudp_probe")>;
using rudp_probed_atom = caf::atom_constant<caf::atom("rudp_prbd")>;
using rudp_acked_atom = caf::atom_constant<caf::atom("rudp_ackd")>;
using rudp_stun_atom = caf::atom_constant<caf::atom("rudp_stun")>;
using udp_readable_atom = caf::atom_constant<caf::atom("udp_ready")>;
using udp_read_atom = caf::atom_constant<caf::atom("udp_read")>;

/// The engine.
///
/// From a service:
///   (rudp_open_atom, host, port, rudp_settings) -> (rudp_socket, uint16_t port)
///   (rudp_dial_atom, rudp_socket, endpoint target, bool bootstrapping)
///       -> rudp_session once up, or an error saying why not
///   (rudp_adopt_atom, int fd, rudp_settings) -> (rudp_socket, uint16_t
///       port): a UDP socket opened elsewhere (a hole punch's birthday
///       socket) joins for one session: it is closed once that session
///       ended, or after dedicated_idle without one
///   (rudp_retire_atom, rudp_socket): the service listens elsewhere now
///       (its ports moved): the socket is closed once its last session
///       ended (at once when it has none)
///   (close_atom) -> ok: closes the sender's sockets and sessions (the
///       word every closable child of the service answers)
///   (rudp_stun_atom, rudp_socket, server ip, server port) -> (ip, port):
///       where that STUN server sees the socket (its NAT's mapping for
///       it), or an error saying why not (within about 8 s)
/// To a service:
///   (rudp_inbound_atom, rudp_socket, rudp_session, ip, port, bool punched):
///       a session a peer started (punched: from where a watched hole
///       punch's probes came); the service spawns its connection actor
///   misbehaving: a peer that misbehaved before its connection existed
/// From a connection actor:
///   (rudp_attach_atom, rudp_socket, rudp_session)
///       -> (peer_id, uint64_t session, bool bootstrapping, rudp_frames):
///       its HELLO and the frames that arrived before it attached
///   (rudp_send_atom, rudp_socket, rudp_session, rudp_frames)
///   (rudp_pause_atom, rudp_socket, rudp_session, bool on)
///   (rudp_end_atom, rudp_socket, rudp_session)
/// To a connection actor:
///   (rudp_frames_atom, rudp_frames), (rudp_sent_atom, uint64_t bytes) as
///   SCTP takes them, (rudp_down_atom, std::string reason, uint8_t kind)
/// From a hole-punching attempt (attempt ids and keys as their bytes):
///   (rudp_watch_atom, rudp_socket, attempt, key, bool offerer) -> ok, or
///       an error when too many are watched: the socket answers the
///       attempt's probes, and the sender hears of them until it unwatches
///       or stops
///   (rudp_unwatch_atom, rudp_socket, attempt)
///   (rudp_probe_atom, rudp_socket, attempt, std::vector<endpoint>): one
///       PROBE to each
/// To it:
///   (rudp_probed_atom, attempt, ip, port): the peer's probe came from there
///   (rudp_acked_atom, attempt, ip, port, observed ip, observed port): our
///       probe was answered from there, which saw us at `observed`
/// From its udp_reader: (udp_readable_atom, rudp_socket) -> ok, once read
/// From itself: rudp_tick_atom, (rudp_close_atom, socket, session) once an
///   ended session's grace is over, and (rudp_idle_atom, socket) to see
///   whether an adopted socket is done
using rudp_engine_actor = caf::typed_actor<
  caf::replies_to<rudp_open_atom, std::string, uint16_t,
                  rudp_settings>::with<rudp_socket, uint16_t>,
  caf::replies_to<rudp_dial_atom, rudp_socket, endpoint,
                  bool>::with<rudp_session>,
  caf::replies_to<rudp_adopt_atom, int, rudp_settings>::with<rudp_socket,
                                                             uint16_t>,
  caf::reacts_to<rudp_idle_atom, rudp_socket>,
  caf::reacts_to<rudp_retire_atom, rudp_socket>,
  caf::replies_to<rudp_stun_atom, rudp_socket, std::string,
                  uint16_t>::with<std::string, uint16_t>,
  caf::replies_to<close_atom>::with<caf::ok_atom>,
  caf::replies_to<rudp_attach_atom, rudp_socket,
                  rudp_session>::with<peer_id, uint64_t, bool, rudp_frames>,
  caf::reacts_to<rudp_send_atom, rudp_socket, rudp_session, rudp_frames>,
  caf::reacts_to<rudp_pause_atom, rudp_socket, rudp_session, bool>,
  caf::reacts_to<rudp_end_atom, rudp_socket, rudp_session>,
  caf::replies_to<rudp_watch_atom, rudp_socket, std::vector<uint8_t>,
                  std::vector<uint8_t>, bool>::with<caf::ok_atom>,
  caf::reacts_to<rudp_unwatch_atom, rudp_socket, std::vector<uint8_t>>,
  caf::reacts_to<rudp_probe_atom, rudp_socket, std::vector<uint8_t>,
                 std::vector<endpoint>>,
  caf::replies_to<udp_readable_atom, rudp_socket>::with<caf::ok_atom>,
  caf::reacts_to<rudp_tick_atom>,
  caf::reacts_to<rudp_close_atom, rudp_socket, rudp_session>>;

/// The engine of `sys`, spawned on first use.
rudp_engine_actor rudp_engine_of(caf::actor_system& sys);

/// How long an adopted socket waits for its session.
constexpr auto dedicated_idle = std::chrono::seconds(15);

/// rudp_down_atom's kind when the peer did not misbehave.
constexpr uint8_t no_misbehaviour = 255;

} // namespace crust
