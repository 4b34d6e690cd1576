// Every message a crust service exchanges with the application: events it
// sends to the handler actor, commands the application sends to the service.
// All are registered with CAF by crust::config (see add_message_types).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/optional.hpp>

#include "crust/endpoint.hpp"
#include "crust/peer_id.hpp"

namespace crust {

// -- vocabulary ---------------------------------------------------------------

/// Why a connection exists.
enum class origin : uint8_t {
  direct = 0,    // connect() by the application, or accepted from a peer
  bootstrap_in,  // accepted from a bootstrapping peer
  bootstrap_out, // dialled by the bootstrap actor
  beacon,        // found on the LAN
  punched,       // hole punching
  relayed,       // through a relay
};
std::string to_string(origin x);

/// What a connection is and where it runs.
struct connection_info {
  transport proto = transport::tcp;
  origin from = origin::direct;
  /// True when the peer dialled us.
  bool inbound = false;
  endpoint local;
  endpoint remote;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_info& x) {
  return f(caf::meta::type_name("crust::connection_info"), x.proto, x.from,
           x.inbound, x.local, x.remote);
}

/// The kinds of abuse a node defends itself against.
enum class misbehaviour : uint8_t {
  decrypt_failure = 0,
  flood,
  oversize,
  handshake_timeout,
  handshake_invalid,
  protocol_violation,
};
std::string to_string(misbehaviour x);

/// Send priority. `high` frames always go before queued `normal` ones, so a
/// bulk transfer cannot starve small control messages.
enum class priority : uint8_t { high = 0, normal = 1 };
std::string to_string(priority x);

// -- events (service -> handler) ----------------------------------------------

/// The service is accepting connections at these endpoints.
struct listening {
  std::vector<endpoint> endpoints;
  peer_id id;
};

/// A connection to `peer` is up. Answer with keep or drop within
/// crust.decision-timeout, or it is closed.
struct new_peer {
  peer_id peer;
  connection_info info;
  /// The connection's own actor. `send` commands sent straight to it
  /// (the `peer` field is not looked at) skip the service's hop and get
  /// the same answers (ok, not_kept, send_queue_full, message_too_large);
  /// it is gone with the connection (peer_lost). Send it nothing else:
  /// keep, drop and every other command go to the service.
  caf::actor link;
  /// Bytes of plain (not request) sends to this peer that may await their
  /// `sent` (crust.send-queue-size); see send.
  uint64_t window = 0;
};

/// To the sender of plain `send`s: `bytes` more of its bytes to `peer`
/// were sealed and handed to the network. One per write at most, so a
/// stream of small sends hears few of these.
struct sent {
  peer_id peer;
  uint64_t bytes = 0;
};

/// A plain `send` that could not be queued, its bytes given back: to its
/// sender, or to the handler if it came anonymously. `reason` is one of
/// the errors a requested send answers.
struct send_failed {
  peer_id peer;
  std::vector<uint8_t> bytes;
  caf::error reason;
};

/// `bytes` arrived from a kept peer, in the order the peer sent them
/// (per priority).
struct message {
  peer_id peer;
  std::vector<uint8_t> bytes;
};

/// The connection to `peer` is gone.
struct peer_lost {
  peer_id peer;
  std::string reason;
};

/// A hole punch reached `peer` (its new_peer came first, origin
/// punched): over `proto`, in round `round` (1-3) of the attempt, `millis`
/// after the attempt began. Each side reports its own view. For logs and
/// for tuning: nothing needs to answer it.
struct punched {
  peer_id peer;
  transport proto = transport::tcp;
  uint8_t round = 0;
  uint32_t millis = 0;
};

/// The connection to `peer` now runs over another path: a relayed one
/// moved to a direct path (`to`), or back to its relay (`from` direct)
/// when the direct path stopped carrying data. Nothing was lost,
/// duplicated or reordered; new_peer's link and the peer stay the same.
/// For logs and display: nothing needs to answer it.
struct path_changed {
  peer_id peer;
  connection_info from;
  connection_info to;
};

/// A connect() did not lead to a peer.
struct connection_failed {
  std::string target;
  std::string reason;
};

/// Someone broke the protocol or abused the node. `address` is the remote
/// IP:port; `peer` is set once the peer has identified itself.
struct misbehaving {
  std::string address;
  caf::optional<peer_id> peer;
  misbehaviour kind = misbehaviour::protocol_violation;
  std::string detail;
};

/// A bootstrap round is over: `connections` peers are kept (it reached
/// crust.bootstrap-target, or everyone it could).
struct bootstrap_finished {
  uint32_t connections = 0;
};

/// A bootstrap round reached no one: each target with its last failure.
struct bootstrap_failed {
  std::vector<std::string> reasons;
};

/// Something the node survives but a person should know (an unusable
/// bootstrap cache set aside, a cache it cannot write).
struct warning {
  std::string text;
};

/// A port mapping on the gateway (crust.upnp): made or renewed through
/// `method` ("upnp" or "natpmp"), reaching our listener from `external`
/// ("tcp://IP:PORT", and the UDP twin as "udp://IP:PORT") for `lease`
/// seconds (0: permanent); or, with `method` empty, why none was made.
struct port_mapping {
  std::string method;
  std::vector<std::string> external;
  uint32_t lease = 0;
  std::string error;
};

/// One address the outside sees us at: `protocol` "tcp" or "udp",
/// `address` "IP:PORT", `source` "upnp", "natpmp", "stun" or "peer" (the
/// address a connected peer saw; its port is that connection's).
struct external_address {
  std::string protocol;
  std::string address;
  std::string source;
};

/// What one STUN server said: `mapped` "IP:PORT", or `error`.
struct stun_server_result {
  std::string server;
  std::string mapped;
  uint32_t rtt_ms = 0;
  std::string error;
};

/// Where the internet reaches this node and through what kind of NAT, on
/// start-up and whenever it changes. `nat_type`: "open", "full-cone",
/// "restricted-cone", "port-restricted", "cone", "symmetric",
/// "udp-blocked" or "unknown"; `mapping` and `filtering` are RFC 4787's
/// terms ("endpoint-independent", ...; docs/DESIGN.md).
struct external_endpoints {
  std::vector<external_address> addresses;
  std::string nat_type = "unknown";
  std::string mapping = "unknown";
  std::string filtering = "unknown";
  std::vector<stun_server_result> stun;
  /// Datagrams on the STUN socket that were not a valid answer (dropped).
  uint64_t stun_ignored = 0;
};

/// The service cannot go on (e.g. it cannot bind its listening port); it
/// stops after sending this.
struct service_failed {
  std::string reason;
};

// -- commands (application -> service) ----------------------------------------

/// Dial `target`. Success shows up as new_peer, failure as connection_failed.
struct connect {
  endpoint target;
};

/// Connect to `peer` through the NATs between us: a kept peer introduces
/// the two of us (`via`, or else each kept peer is asked, and one that
/// keeps `peer` passes it on) and both ends punch through, over TCP from
/// their listen ports and over UDP from the reliable-UDP socket. Success
/// shows up as new_peer with origin punched on both sides; failure as
/// connection_failed with target "peer:HEX" and each round's reason.
/// crust also does this by itself, quietly, when a dial to a peer that a
/// kept peer's exchange named fails: that kept peer is asked to
/// introduce us.
struct connect_peer {
  peer_id peer;
  caf::optional<peer_id> via;
};

/// Hole punching signalled by the application itself, when no mutual
/// peer is at hand (the original crust's connection info): ask the
/// service, as a request, for this node's half; it answers
/// rendezvous_info. Send `json` to the other node by your own means, get
/// its half back the same way, and send connect_with on both nodes at
/// about the same time (within a second or two: each tries for
/// crust.punch-timeout). A half is good for one connect_with within ten
/// minutes; at most 16 are outstanding (the oldest is forgotten).
struct prepare_connection_info {};

/// This node's half: its peer id, a fresh attempt, its candidate
/// endpoints, its NAT's mapping and what it can punch, signed by it, as
/// one JSON object (docs/PROTOCOL.md, "Rendezvous info").
struct rendezvous_info {
  peer_id peer;
  std::string json;
};

/// Punch through to the node whose half is `theirs`, with our half
/// `ours` (as prepare_connection_info answered it). Success and failure
/// as for connect_peer; a half that does not verify, or is not ours, is a
/// connection_failed saying why (target "peer:HEX" of theirs, when it
/// names one).
struct connect_with {
  std::string ours;
  std::string theirs;
};

/// Accept a new peer: its messages start flowing to the handler.
struct keep {
  peer_id peer;
};

/// Reject or disconnect a peer.
struct drop {
  peer_id peer;
};

/// Queue `bytes` for a kept peer, through the service or new_peer's link.
/// As a request it replies caf::ok_atom once queued, or an error:
/// errc::not_kept, errc::unknown_peer, errc::send_queue_full
/// (back-pressure: retry later), errc::message_too_large.
/// As a plain send it is not answered: its sender hears `sent` as its bytes
/// leave, and gets them back in `send_failed` if they cannot be queued.
/// Keep the bytes not yet heard of in `sent` within new_peer's `window`
/// (shared by every sender to that peer) and no send is refused for a full
/// queue; the order then holds as for requests. This is the fast way for
/// many small messages: no answer per message.
struct send {
  peer_id peer;
  std::vector<uint8_t> bytes;
  priority prio = priority::normal;
};

/// Replies std::vector<peer_info> with every connected peer.
struct list_peers {};

struct peer_info {
  peer_id peer;
  connection_info info;
  bool kept = false;
};

/// Close every connection gracefully and stop the service.
struct shutdown {};

/// Refuse these for the rest of the session and close every matching
/// connection at once. Entries: peer ids (64 hex digits), IP addresses,
/// CIDR ranges ("10.0.0.0/8"). IPs are refused before any handshake work,
/// peer ids right after the handshake. Replies the number of connections
/// it closed (uint64_t), or errc::invalid_config naming a bad entry.
struct blacklist {
  std::vector<std::string> entries;
};

/// Takes entries off the blacklist. Replies how many it removed.
struct unblacklist {
  std::vector<std::string> entries;
};

/// Allow-list mode: from now on only peers these entries match may connect
/// (same forms as blacklist; an address range admits every peer there).
/// Replaces the previous list; an empty list ends the mode. Every
/// connection no longer allowed is closed at once. Replies the number
/// closed (uint64_t), or errc::invalid_config naming a bad entry.
struct allow_only {
  std::vector<std::string> entries;
};

// -- inspection ---------------------------------------------------------------

#define CRUST_INSPECT(type, ...)                                               \
  template <class Inspector>                                                   \
  typename Inspector::result_type inspect(Inspector& f, type& x) {             \
    return f(caf::meta::type_name("crust::" #type), __VA_ARGS__);              \
  }

CRUST_INSPECT(listening, x.endpoints, x.id)
CRUST_INSPECT(new_peer, x.peer, x.info, x.link, x.window)
CRUST_INSPECT(sent, x.peer, x.bytes)
CRUST_INSPECT(send_failed, x.peer, x.bytes, x.reason)
CRUST_INSPECT(message, x.peer, x.bytes)
CRUST_INSPECT(peer_lost, x.peer, x.reason)
CRUST_INSPECT(punched, x.peer, x.proto, x.round, x.millis)
CRUST_INSPECT(path_changed, x.peer, x.from, x.to)
CRUST_INSPECT(connection_failed, x.target, x.reason)
CRUST_INSPECT(misbehaving, x.address, x.peer, x.kind, x.detail)
CRUST_INSPECT(service_failed, x.reason)
CRUST_INSPECT(bootstrap_finished, x.connections)
CRUST_INSPECT(bootstrap_failed, x.reasons)
CRUST_INSPECT(warning, x.text)
CRUST_INSPECT(port_mapping, x.method, x.external, x.lease, x.error)
CRUST_INSPECT(external_address, x.protocol, x.address, x.source)
CRUST_INSPECT(stun_server_result, x.server, x.mapped, x.rtt_ms, x.error)
CRUST_INSPECT(external_endpoints, x.addresses, x.nat_type, x.mapping,
              x.filtering, x.stun, x.stun_ignored)
CRUST_INSPECT(connect, x.target)
CRUST_INSPECT(connect_peer, x.peer, x.via)
CRUST_INSPECT(rendezvous_info, x.peer, x.json)
CRUST_INSPECT(connect_with, x.ours, x.theirs)

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prepare_connection_info&) {
  return f(caf::meta::type_name("crust::prepare_connection_info"));
}
CRUST_INSPECT(keep, x.peer)
CRUST_INSPECT(drop, x.peer)
CRUST_INSPECT(send, x.peer, x.bytes, x.prio)
CRUST_INSPECT(peer_info, x.peer, x.info, x.kept)
CRUST_INSPECT(blacklist, x.entries)
CRUST_INSPECT(unblacklist, x.entries)
CRUST_INSPECT(allow_only, x.entries)

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_peers&) {
  return f(caf::meta::type_name("crust::list_peers"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shutdown&) {
  return f(caf::meta::type_name("crust::shutdown"));
}

#undef CRUST_INSPECT

/// Registers every type above (and crust's error category) with `cfg`.
/// crust::config does this already; call it when you bring your own config.
void add_message_types(caf::actor_system_config& cfg);

} // namespace crust
