// Which connection to each peer lives. Sans-I/O: the service feeds it what
// connections report and carries out what it answers.
//
// The rule that makes both ends agree: of two peers, the one with the lower
// id leads. It selects the first connection whose HELLO it sees and closes
// every later one to the same peer as a duplicate; the follower waits for
// the leader's SELECT. A HELLO with a new session nonce means the peer
// restarted: its new connection supersedes the old one.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "crust/peer_id.hpp"

namespace crust {

using conn_id = uint64_t;

class peer_table {
public:
  enum class phase { identifying, negotiating, undecided, kept };

  enum class action {
    wait,            // follower: wait for the leader's SELECT
    select,          // leader: this connection lives; send SELECT
    close_self,      // the node reached itself
    close_duplicate, // another connection to this peer already lives
  };

  struct outcome {
    action act = action::wait;
    /// A live connection the new one replaces (the peer restarted).
    std::optional<conn_id> superseded;
  };

  struct entry {
    phase ph = phase::identifying;
    peer_id peer;
    uint64_t session = 0;
  };

  explicit peer_table(peer_id local) : local_(local) {
    // nop
  }

  void add(conn_id c) {
    conns_.emplace(c, entry{});
  }

  outcome on_hello(conn_id c, const peer_id& peer, uint64_t session);

  /// Follower: the leader selected `c`. Returns a live connection that `c`
  /// replaces, if any.
  std::optional<conn_id> on_selected(conn_id c);

  /// Undecided -> kept. False when `peer` has no undecided connection.
  bool keep(const peer_id& peer);

  /// Forgets `c`; returns its peer when `c` was that peer's live connection.
  std::optional<peer_id> remove(conn_id c);

  std::optional<conn_id> live(const peer_id& peer) const;

  const entry* find(conn_id c) const;

  bool leads(const peer_id& peer) const {
    return local_ < peer;
  }

  size_t size() const {
    return conns_.size();
  }

  /// Peers whose live connection is kept (counted as they change, so the
  /// service asks in O(1) however many peers it has).
  size_t kept() const {
    return kept_;
  }

  template <class F>
  void for_each_live(F f) const {
    for (auto& [peer, c] : live_)
      f(peer, c, conns_.at(c));
  }

private:
  std::optional<conn_id> make_live(conn_id c, entry& e);

  peer_id local_;
  std::unordered_map<conn_id, entry> conns_;
  std::unordered_map<peer_id, conn_id> live_;
  size_t kept_ = 0;
};

} // namespace crust
