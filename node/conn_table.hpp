// Every connection a service runs, from admission to erasure: one record
// and one explicit phase each, which connection to each peer lives, the
// admission slots incoming ones hold, and what the application and a
// bootstrap round hear when one ends. Sans-I/O: the service feeds it what
// connections and the application say and carries out what it answers;
// connection actors are the service's business, named here by conn_id.
//
// Phases and their only transitions (closing is left by erasure alone):
//
//   admitting   --on_conn_up: outbound, or admission admits--> handshaking
//   admitting   --on_conn_up: admission refuses-------------> closing
//   handshaking --on_hello: refused, self or duplicate-------> closing
//   handshaking --on_hello: a follower waits for SELECT-------> identified
//   handshaking --on_hello: the leader selects----------------> undecided
//   handshaking --on_hello: the leader selects it as a path---> path
//   identified  --on_selected: the leader chose it------------> undecided
//   identified  --on_selected: the leader chose it as a path--> path
//   undecided   --keep-----------------------------------------> kept
//   undecided, kept --a newer session's connection lives------> closing
//   any but closing --close (drop, decision timeout, blacklist,
//                     eviction, shutdown)----------------------> closing
//   any         --on_closed: the actor is gone----------------> (erased)
//
// Whom an end is told to is fixed at creation by the origin and the
// target: the application for its own dials (connection_failed) and for
// every connection it heard new_peer for (peer_lost), a bootstrap round
// for the dials it asked for, and nobody else. Something said early
// (a refusal, a supersession) is said once: the record is then settled.
//
// A path (docs/DESIGN.md, "Relay"): a direct connection to a peer whose
// live connection is relayed, with the same session, carries that
// connection (its anchor) instead of replacing it: the connection moves
// to it once the anchor is kept (start_move), and back to the relay when
// the path ends. A path is never live, never counted as kept, and its end
// tells the application nothing (the anchor's does). An anchor has at
// most one path; another direct connection to its peer is a duplicate.
//
// Admission slots of incoming connections follow the phase: half-open
// from admission until HELLO, established from HELLO until erasure; an
// evicted half-open connection gives its slot back at once.
#pragma once

#include <caf/optional.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "crust/endpoint.hpp"
#include "crust/messages.hpp"
#include "crust/peer_id.hpp"
#include "node/admission.hpp"

namespace crust {

using conn_id = uint64_t;

class conn_table {
public:
  enum class phase {
    admitting,
    handshaking,
    identified,
    path,
    undecided,
    kept,
    closing
  };

  /// An incoming connection's claim on admission's counters.
  enum class slot { none, half_open, established };

  struct record {
    phase ph = phase::admitting;
    /// The furthest phase before closing.
    phase reached = phase::admitting;
    connection_info info;
    /// For dials: what was dialled.
    caf::optional<endpoint> target;
    /// Dialled for a bootstrap round that has not heard the outcome yet.
    bool bootstrap_owed = false;
    /// The application already heard what it needs of this one.
    bool settled = false;
    /// Why the service closed it (from closing on).
    std::string reason;
    slot held = slot::none;
    peer_id peer; // from identified on
    uint64_t session = 0;
    /// A path's anchor, and an anchor's path (pending or carrying).
    std::optional<conn_id> anchor;
    std::optional<conn_id> path;
    /// An anchor whose connection its path carries now.
    bool moved = false;

    bool identified() const {
      return reached >= phase::identified;
    }
    /// The application heard new_peer for it.
    bool announced() const {
      return reached >= phase::undecided;
    }
  };

  // -- what transitions answer ----------------------------------------------

  struct admitted {
    admission::verdict verdict = admission::verdict::admit;
    /// A half-open connection closed to make room (its slot is free now).
    std::optional<conn_id> evicted;
  };

  struct identified_outcome {
    enum class action {
      ignore,          // closing already (evicted while its HELLO was on the way)
      refuse,          // blacklisted or not allowed: close it, `why`
      close_self,      // the node reached itself
      close_duplicate, // another connection to this peer lives
      wait,            // follower: wait for the leader's SELECT
      select,          // leader: this connection lives; send SELECT, announce
      path,            // leader: send SELECT; it carries `anchor`'s connection
    };
    action act = action::ignore;
    const char* why = nullptr;
    /// For refuse and close_self: the application dialled it and hears
    /// connection_failed now.
    bool tell_application = false;
    /// For select: the live connection it replaces (the peer restarted).
    /// For path: the anchor's earlier path, closed now.
    std::optional<conn_id> superseded;
    /// For path: the relayed connection it carries, and whether the move
    /// starts now (the anchor is kept; else it starts at keep).
    std::optional<conn_id> anchor;
    bool move_now = false;
    /// The earlier path carried the connection: the anchor takes it back
    /// from it on the way to the new one (the service closes nothing).
    bool superseded_carried = false;
  };

  /// What the end of a connection means, decided once, at erasure.
  struct ending {
    enum class to_application { nothing, peer_lost, connection_failed };
    to_application tell = to_application::nothing;
    peer_id peer;                   // for peer_lost
    caf::optional<endpoint> target; // for connection_failed and the rest
    std::string reason;
    /// The dial failed: the cache marks a pinned target down.
    bool dial_failed = false;
    /// The bootstrap round's result, when it was owed one.
    struct bootstrap_result {
      bool reached = false;
      bool retry = false;
      std::string reason;
    };
    std::optional<bootstrap_result> bootstrap;
    /// It was its peer's live connection (so the number of kept peers
    /// may have changed).
    bool was_live = false;
    /// An anchor's path that nothing carries now (close it); or, for a
    /// path, the anchor it carried.
    std::optional<conn_id> orphan;
    std::optional<conn_id> anchor;
  };

  conn_table(peer_id local, admission::limits limits);

  // -- getters ---------------------------------------------------------------

  const record* find(conn_id c) const;

  /// The live connection (undecided or kept) to `peer`.
  std::optional<conn_id> live(const peer_id& peer) const;

  /// The peers the application keeps, with their connections.
  std::vector<std::pair<peer_id, conn_id>> kept_peers() const;

  bool leads(const peer_id& peer) const {
    return local_ < peer;
  }

  size_t size() const {
    return records_.size();
  }

  bool empty() const {
    return records_.empty();
  }

  /// Peers whose live connection is kept (counted as they change; one
  /// closing stays counted until it is gone or superseded).
  size_t kept() const {
    return kept_;
  }

  /// Who may connect, and the caps; the blacklist and allow list change
  /// through it.
  admission& policy() {
    return adm_;
  }
  const admission& policy() const {
    return adm_;
  }

  template <class F>
  void for_each(F f) const {
    for (auto& [c, rec] : records_)
      f(c, rec);
  }

  template <class F>
  void for_each_live(F f) const {
    for (auto& [peer, c] : live_)
      f(peer, c, records_.at(c));
  }

  // -- transitions -----------------------------------------------------------

  /// A connection actor the service now runs (incoming: its info comes
  /// with on_conn_up; dialled: `info` and `target` as dialled).
  conn_id add(const connection_info& info = {},
              caf::optional<endpoint> target = caf::none);

  /// The connection announced itself: admit it or not.
  admitted on_conn_up(conn_id c, const connection_info& info);

  /// The connection proved its peer.
  identified_outcome on_hello(conn_id c, const peer_id& peer, uint64_t session,
                              bool bootstrapping);

  struct selected_outcome {
    /// `c` lives now (it was waiting for the leader's SELECT).
    bool live = false;
    /// The live connection it replaces (the peer restarted), or the
    /// anchor's earlier path.
    std::optional<conn_id> superseded;
    /// `c` is a path of this relayed connection; the move starts now
    /// when `move_now` (else at keep).
    std::optional<conn_id> anchor;
    bool move_now = false;
    bool superseded_carried = false;
  };

  /// Follower: the leader selected `c`.
  selected_outcome on_selected(conn_id c);

  /// Undecided -> kept. The peer's live connection if it is kept now (or
  /// was already); nothing when the peer has none or it is closing.
  std::optional<conn_id> keep(const peer_id& peer);

  /// Anchor `a`'s connection moves to its path now (it is kept and has
  /// a path that does not carry it yet): that path, once.
  std::optional<conn_id> start_move(conn_id a);

  /// The connection that carries `peer`'s live one: its path once the
  /// move started, else the live connection itself. (For showing where a
  /// peer runs; sends still go to the live one, which forwards them in
  /// order.)
  std::optional<conn_id> carrier(const peer_id& peer) const;

  /// `peer`'s live connection runs through a relay and has no direct
  /// path yet: a direct connection to it would become one.
  bool wants_path(const peer_id& peer) const;

  /// A kept peer's bootstrap dial reached it: the round's result, once.
  std::optional<ending::bootstrap_result> reached(conn_id c);

  /// The service asks `c` to close; `reason` is what the application
  /// will read (the first reason stays). False when it is closing already.
  bool close(conn_id c, std::string reason);

  /// The application needs to hear nothing more of `c` (the peer closed
  /// it as a duplicate, or it was told already).
  void settle(conn_id c);

  /// `c`, an accepted connection, turned out to be a hole punch's path
  /// (its PUNCH_HELLO named a live attempt): its origin becomes punched.
  void mark_punched(conn_id c);

  /// The oldest incoming connection still handshaking (eviction).
  std::optional<conn_id> oldest_half_open() const;

  /// The connection actor is gone: the record is erased, its slot freed,
  /// and what its end means comes back.
  ending on_closed(conn_id c, std::string reason);

private:
  record* get(conn_id c);
  void enter(record& rec, phase p);
  std::optional<conn_id> make_live(conn_id c, record& rec);
  /// The peer's live connection, when `rec` (same peer and session) may
  /// become its path instead of a duplicate or a replacement.
  record* anchor_for(const record& rec, conn_id* a);
  void make_path(conn_id c, record& rec, conn_id a, record& anchor,
                 std::optional<conn_id>& superseded, bool& carried,
                 bool& move_now);
  void release_slot(record& rec);

  peer_id local_;
  admission adm_;
  conn_id next_id_ = 1;
  std::unordered_map<conn_id, record> records_;
  std::unordered_map<peer_id, conn_id> live_;
  size_t kept_ = 0;
};

const char* to_string(conn_table::phase p);

} // namespace crust
