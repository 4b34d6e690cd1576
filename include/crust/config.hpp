// crust's settings: the `[crust]` section of caf-application.ini, each key
// overridable on the command line as --crust.KEY=VALUE.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>

namespace crust {

/// Every setting with its default: the one place limits and timers live.
struct service_options {
  std::string listen_address = "0.0.0.0";
  uint16_t listen_port = 0; // 0: a random free port
  caf::timespan decision_timeout = std::chrono::seconds(10);
  caf::timespan heartbeat_interval = std::chrono::seconds(5);
  caf::timespan heartbeat_timeout = std::chrono::seconds(20);
  caf::timespan connect_timeout = std::chrono::seconds(10);
  caf::timespan handshake_timeout = std::chrono::seconds(10);
  /// Largest record a peer may send us (length prefix excluded).
  uint32_t max_frame_size = 65535;
  /// Largest message, reassembled from frames.
  uint32_t max_message_size = 16 * 1024 * 1024;
  /// Bytes queued per connection before send() answers send_queue_full.
  uint32_t send_queue_size = 32 * 1024 * 1024;
  /// Messages an undecided peer may send before we stop reading from it.
  uint32_t undecided_buffer_size = 1024 * 1024;
  std::string prefer_transport = "tcp";
  /// Nodes of different networks never connect (part of the handshake).
  std::string network_name = "crust";
  /// Where the node's Ed25519 key lives; empty: a new key every start.
  std::string identity_file;
  /// Connections (handshaking or established) from one IP address.
  uint32_t max_connections_per_ip = 32;
  /// Handshakes in flight from one IP address, and from everyone.
  uint32_t max_half_open_per_ip = 8;
  uint32_t max_half_open = 256;
  /// Incoming connections (handshaking or established) from everyone.
  uint32_t max_connections = 1024;
  /// What a peer may send before reading pauses (defence before
  /// decryption): per connection, and per source IP over all of its
  /// connections. Bursts of a quarter second's worth pass.
  uint32_t max_bytes_per_sec = 128 * 1024 * 1024;
  uint32_t max_records_per_sec = 32768;
  uint32_t max_bytes_per_sec_per_ip = 256 * 1024 * 1024;
  uint32_t max_records_per_sec_per_ip = 65536;
  /// A peer held back by those limits for this long is a flood: closed,
  /// and misbehaving(flood) raised.
  caf::timespan flood_timeout = std::chrono::seconds(30);
  /// Allow-list mode from the start: only peers these entries match (peer
  /// ids, IP addresses, CIDR ranges) may connect. Empty: everyone may.
  std::vector<std::string> allow_only;
  /// The bootstrap cache file; empty: no persistence. (Read from the INI
  /// file, an absent key means default_cache_path(network_name).)
  std::string bootstrap_cache_file;
  uint32_t bootstrap_cache_size = 200;
  /// Whether a cache file that cannot be written stops start-up (else: a
  /// warning, and a node without persistence).
  bool bootstrap_cache_required = true;
  /// Dialled when the cache has nothing that answers:
  /// "tcp://IP:PORT" or "tcp://IP:PORT#PEERID".
  std::vector<std::string> contacts;
  /// A bootstrap round stops when this many peers are kept...
  uint32_t bootstrap_target = 4;
  /// ...and a new round starts when fewer than this many are (0: never).
  uint32_t min_connections = 1;
  /// Dials a bootstrap round has in flight at once.
  uint32_t bootstrap_concurrency = 4;
  /// Ask kept peers for the peers they reached directly, and answer them.
  bool peer_exchange = true;
  /// Pass hole-punching signals on between two peers this node keeps (a
  /// mutual peer's introduction), at a bounded rate per peer.
  bool introduce = true;
  /// Hole punching (crust::connect_peer, connect_with): how long one
  /// attempt may take in all (three rounds of about 3 s fit in 10 s),
  /// and which paths it tries. TCP is favoured when both work.
  caf::timespan punch_timeout = std::chrono::seconds(10);
  bool punch_tcp = true;
  bool punch_udp = true;
  /// Birthday mode, the last round against an endpoint-dependent NAT
  /// when ours is not (UDP only): a few hundred sockets or probes.
  bool punch_birthday = true;
  /// Relay: join two peers this node keeps by a circuit when they cannot
  /// reach each other (off by default: a relay spends its bandwidth on
  /// others). What it allows, announced to both ends of every circuit:
  bool relay = false;
  uint32_t relay_max_circuits = 16;
  uint32_t relay_max_circuits_per_peer = 4;
  uint32_t relay_circuit_bytes_per_sec = 256 * 1024;
  uint32_t relay_total_bytes_per_sec = 1024 * 1024;
  caf::timespan relay_idle_timeout = std::chrono::seconds(120);
  /// A connect_peer (or connect_with) whose punch has not connected
  /// after this long also asks a relay for a circuit; the punch goes on,
  /// and when it gets through the connection moves to it. 0 (the
  /// default): a relay only once the punch failed. Off by default while
  /// a punch and a circuit that complete within one round trip of each
  /// other can leave the two ends disagreeing which is the connection
  /// (docs/DESIGN.md, "Relay").
  caf::timespan relay_after{0};
  /// An end whose relayed connection moved to a direct path keeps the
  /// circuit this long, to fall back to it if the direct path dies.
  caf::timespan relay_grace = std::chrono::seconds(30);
  /// While a connection runs through a relay, a direct path is punched
  /// again this long after it was kept, then after twice as long each
  /// time up to 10 minutes, and at once when our outside endpoints
  /// change (the side with the lower peer id tries).
  caf::timespan relay_upgrade_interval = std::chrono::seconds(30);
  /// The listening ports (TCP and UDP) move to new random ones about this
  /// often (each wait drawn within 25% of it), so that where a node can
  /// be reached changes over time; kept peers hear where it listens now,
  /// and live connections stay. 0 turns it off; a fixed listen_port
  /// never moves.
  caf::timespan rotate_ports_interval = std::chrono::hours(1);
  /// After a move the old TCP listener and UDP socket take connections
  /// this long; the old port mapping is removed after it.
  caf::timespan rotate_ports_grace = std::chrono::seconds(60);
  /// LAN discovery: announce ourselves and dial whoever announces.
  bool beacon = true;
  uint16_t beacon_port = 5484;
  /// "IP:PORT" to announce to instead of the broadcast addresses of the
  /// interfaces we listen on.
  std::vector<std::string> beacon_targets;
  /// Port mapping on the gateway: UPnP IGD, then NAT-PMP/PCP. Off by
  /// itself when the node listens on a loopback address.
  bool upnp = true;
  caf::timespan upnp_lease = std::chrono::seconds(3600);
  caf::timespan upnp_timeout = std::chrono::seconds(2);
  /// "HOST:PORT" of STUN servers (none by default: crust does not call
  /// anyone's server unasked); with RFC 5780 support, or two of them, the
  /// NAT's type can be told.
  std::vector<std::string> stun_servers;
};

/// An actor_system_config that knows the `[crust]` options, loads CAF's
/// middleman and registers crust's messages. Derive from it to add your own.
class config : public caf::actor_system_config {
public:
  config();
};

/// Reads and checks the `[crust]` settings of a parsed config. Every error
/// names the key, the offending value and, for INI values, the file.
caf::expected<service_options> read_options(const caf::actor_system_config& cfg);

/// Every key of the `[crust]` section, without the "crust." prefix.
std::vector<std::string> setting_names();

/// A duration as the INI file writes it: "10s", "250ms".
std::string to_text(caf::timespan x);

/// Checks the ranges of already-typed options (used by read_options and by
/// spawn_service for options built in code).
caf::error validate(const service_options& opts);

} // namespace crust
