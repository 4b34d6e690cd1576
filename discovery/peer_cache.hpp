// The bootstrap cache's contents: peers this node reached directly (so
// they accept incoming connections), where they listen, when that last
// worked and how often it failed since. Bounded and ranked; sans-I/O: the
// caller passes the time, and to_json/from_json are the file's format
// (docs/PROTOCOL.md, "Bootstrap cache file").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "crust/endpoint.hpp"
#include "crust/peer_id.hpp"

namespace crust {

struct cache_entry {
  peer_id peer;
  /// Where it accepted us, best first (at most max_endpoints).
  std::vector<endpoint> endpoints;
  /// Unix seconds of the last direct connection to it.
  int64_t last_success = 0;
  /// Failed attempts since then.
  uint32_t failures = 0;
};

class peer_cache {
public:
  static constexpr size_t max_endpoints = 8;
  /// An entry that failed this often in a row is forgotten.
  static constexpr uint32_t max_failures = 8;
  /// Each failure since the last success ranks an entry as if its success
  /// were this much older.
  static constexpr int64_t failure_penalty = 24 * 3600;

  explicit peer_cache(size_t capacity) : capacity_(capacity) {
    // nop
  }

  /// We connected to `peer` directly at `at`: it goes (back) to the top.
  void succeeded(const peer_id& peer, const endpoint& at, int64_t now);

  /// Dialling `peer` failed.
  void failed(const peer_id& peer);

  /// Another peer says `peer` accepted it at `at` (peer exchange). Added
  /// when unknown, ranked below every peer this node reached itself until
  /// it does; known peers are left as they are.
  void learned(const peer_id& peer, const endpoint& at);

  /// `peer` says it listens at `now_at` (its ports moved): a known
  /// entry's endpoints become those, the ones on a host it had first (we
  /// reached it there; the rest may be addresses only its LAN sees), at
  /// most max_endpoints. Its rank stays. An unknown peer is not added: it
  /// never accepted us, and its word is all we would have.
  void moved(const peer_id& peer, const std::vector<endpoint>& now_at);

  void forget(const peer_id& peer);

  /// Best first: recent success, few failures.
  std::vector<cache_entry> ranked() const;

  size_t size() const {
    return entries_.size();
  }

  size_t capacity() const {
    return capacity_;
  }

  /// The file's text (JSON), bound to the network name.
  std::string to_json(const std::string& network) const;

  /// Parses a file's text. An error says why it cannot be used (not JSON,
  /// not a crust cache, another network, a bad entry); entries beyond
  /// `capacity` are dropped, worst first.
  static caf::expected<peer_cache> from_json(const std::string& text,
                                             const std::string& network,
                                             size_t capacity);

private:
  static int64_t score(const cache_entry& e);
  void trim();

  size_t capacity_;
  std::vector<cache_entry> entries_;
};

} // namespace crust
