// The reliable-UDP engine: one per actor system, shared by every service
// in it, because usrsctp is one stack per process and wants its calls
// and timer ticks from one place. It owns each service's rudp socket and
// datagram channel (transports/datagram/channel), ticks the SCTP stack
// every few milliseconds while sessions exist, and carries frames between
// sessions and their connection actors (actors/connection, over rudp).
//
// From a service:
//   (rudp_open_atom, host, port, rudp_settings) -> (uint32_t ep, uint16_t port)
//   (rudp_dial_atom, ep, endpoint target, bool bootstrapping)
//       -> uint32_t session once up, or an error saying why not
//   close_atom -> ok: closes the sender's sockets and their sessions.
// To a service: (rudp_inbound_atom, ep, session, ip, port) for a session a
//   peer started; the service spawns its connection actor.
// From a connection actor:
//   (rudp_attach_atom, ep, session) -> (peer_id, uint64_t, bool, frames):
//       its HELLO and the frames that arrived before it attached
//   (rudp_send_atom, ep, session, frames): each frame [stream][type][body]
//   (rudp_end_atom, ep, session)
// To a connection actor: (rudp_frames_atom, frames), (rudp_sent_atom,
//   uint64_t bytes) as SCTP takes them, (rudp_down_atom, reason, kind).
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <memory>

#include "transports/datagram/channel.hpp"

using rudp_settings = std::shared_ptr<crust::datagram_channel::settings>;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rudp_settings)

namespace crust {

/// The engine of `sys`, spawned on first use.
caf::actor rudp_engine_of(caf::actor_system& sys);

/// rudp_down_atom's kind when the peer did not misbehave.
constexpr uint8_t no_misbehaviour = 255;

} // namespace crust
