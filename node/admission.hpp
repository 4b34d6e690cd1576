// Who may connect: the blacklist (peer ids, IP addresses, CIDR ranges) and
// the caps on connections per IP and on half-open handshakes per IP and in
// total. Sans-I/O: the service asks before a connection reads a byte, and
// tells it when handshakes finish and connections close.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/ip_subnet.hpp>

#include "crust/peer_id.hpp"
#include "transports/ip_range.hpp"

namespace crust {

class admission {
public:
  struct limits {
    uint32_t connections_per_ip = 32;
    uint32_t half_open_per_ip = 8;
    uint32_t half_open_total = 256;
    uint32_t connections_total = 1024;
  };

  enum class verdict {
    admit,
    blacklisted,
    too_many_connections,     // from this IP
    too_many_half_open_ip,    // handshakes in flight from this IP
    too_many_connections_total, // incoming connections from anyone
    too_many_half_open_total, // handshakes in flight from anyone
    not_allowed,              // allow-list mode, and no allowed peer there
  };

  explicit admission(limits l) : limits_(l) {
    // nop
  }

  /// Before an incoming connection reads a byte. An admitted connection
  /// counts as half-open until established() or closed().
  verdict admit(const std::string& ip);

  void established(const std::string& ip);
  void closed(const std::string& ip, bool was_established);

  /// Adds entries (hex peer ids, IPs, CIDR ranges); an error names the
  /// first entry that is none of these, and then nothing is added.
  caf::expected<size_t> blacklist(const std::vector<std::string>& entries);
  caf::expected<size_t> unblacklist(const std::vector<std::string>& entries);

  bool blocked(const std::string& ip) const;
  bool blocked(const peer_id& peer) const;

  /// Allow-list mode: with entries, only peers they match may connect; an
  /// empty list ends the mode. Replaces the previous list; an error names
  /// the first bad entry, and then nothing changes.
  caf::error allow_only(const std::vector<std::string>& entries);

  bool allow_mode() const {
    return !allowed_peers_.empty() || !allowed_ranges_.empty();
  }

  /// Before the handshake: whether someone from `ip` could be allowed.
  bool may_be_allowed(const std::string& ip) const;

  /// After the handshake: whether `peer` at `ip` is allowed.
  bool allowed(const std::string& ip, const peer_id& peer) const;

  size_t half_open() const {
    return half_open_total_;
  }

  /// Addresses with admitted connections (the table's size).
  size_t addresses() const {
    return ips_.size();
  }

private:
  struct per_ip {
    uint32_t half_open = 0;
    uint32_t established = 0;
  };

  limits limits_;
  std::map<std::string, per_ip> ips_;
  uint32_t half_open_total_ = 0;
  uint32_t established_total_ = 0;
  std::set<peer_id> peers_;
  std::set<caf::ip_subnet> ranges_;
  std::set<peer_id> allowed_peers_;
  std::set<caf::ip_subnet> allowed_ranges_;
};

std::string to_string(admission::verdict x);

} // namespace crust
