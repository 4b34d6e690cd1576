// Where a peer might reach us, for hole punching: our candidate
// endpoints, each with its kind and a priority, gathered from what the
// node knows (its interfaces, its listen ports, the gateway's mapping,
// STUN's and the peers' word). Pure: the service hands in what it knows.
//
// The order follows ICE's spirit and Tailscale's choice of path: a LAN
// address first (two hosts behind one router meet without hairpinning),
// then the gateway's mapping, a public interface, a reflexive address a
// probe of the attempt revealed, one STUN or peers saw, and last the
// guess that a port-preserving NAT kept our listen port. Every candidate
// is tried at once; priority only picks among paths that work.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crust/endpoint.hpp"
#include "crust/messages.hpp"
#include "transports/ip_endpoint.hpp"

namespace crust {

enum class candidate_kind : uint8_t {
  host = 0,           // an interface's address and our listen port
  mapped = 1,         // the gateway's mapping (UPnP, NAT-PMP)
  reflexive = 2,      // where STUN or peers see us
  peer_reflexive = 3, // where the peer's probe saw us (learned while punching)
  port_guess = 4,     // a reflexive IP with our listen port
};

/// The highest kind the wire knows.
constexpr uint8_t max_candidate_kind = 4;

const char* to_string(candidate_kind k);

struct candidate {
  transport proto = transport::tcp; // tcp or rudp
  ip_endpoint at;
  candidate_kind kind = candidate_kind::host;
  uint32_t priority = 0;
};

bool operator==(const candidate& a, const candidate& b);

/// RFC 4787's mapping behaviour, as address discovery tells it.
enum class nat_mapping : uint8_t {
  unknown = 0,
  none = 1,                 // no NAT: our address is public
  endpoint_independent = 2, // one external port for every destination
  endpoint_dependent = 3,   // a new external port per destination
};

/// "none", "endpoint-independent", "endpoint-dependent"; else unknown.
nat_mapping parse_nat_mapping(const std::string& text);

const char* to_string(nat_mapping m);

/// What gathering starts from.
struct local_view {
  /// Our interfaces' addresses (loopback ones are used only when nothing
  /// else is there: a node listening on loopback).
  std::vector<std::string> interface_ips;
  uint16_t tcp_port = 0; // the listen port
  uint16_t udp_port = 0; // the rudp socket's port (0: rudp off)
  /// What the outside sees of us (the last external_endpoints).
  external_endpoints outside;
  /// "IP:PORT" a single peer says it sees us at, which the view does not
  /// trust as our address (no second word for it): its IP is still worth
  /// a TCP port guess (behind a NAT that blocks UDP, the only outside
  /// word).
  std::vector<std::string> lone_echoes;
};

/// At most this many candidates per transport (the wire's bound is
/// twice that).
constexpr size_t max_candidates_per_transport = 16;

/// Our candidates, highest priority first, each (transport, address)
/// once.
std::vector<candidate> gather_candidates(const local_view& v);

/// A priority for a candidate of `kind` on `at` (LAN addresses rank above
/// public ones of the same kind, TCP above UDP).
uint32_t candidate_priority(candidate_kind kind, transport proto,
                            const std::string& ip);

/// Whether `ip` is private, link-local or unique-local (RFC 1918, 6598,
/// 3927, 4193, 4291): reachable only on a LAN or behind one NAT.
bool is_private_ip(const std::string& ip);

/// Sorts by priority (highest first), drops repeats of a (transport,
/// address) and keeps at most `max_candidates_per_transport` of each
/// transport.
void normalize_candidates(std::vector<candidate>& cs);

} // namespace crust
