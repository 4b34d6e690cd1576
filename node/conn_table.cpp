#include "node/conn_table.hpp"

namespace crust {

conn_table::conn_table(peer_id local, admission::limits limits)
  : local_(local), adm_(limits) {
  // nop
}

// -- getters -------------------------------------------------------------------

const conn_table::record* conn_table::find(conn_id c) const {
  auto i = records_.find(c);
  return i == records_.end() ? nullptr : &i->second;
}

conn_table::record* conn_table::get(conn_id c) {
  auto i = records_.find(c);
  return i == records_.end() ? nullptr : &i->second;
}

std::optional<conn_id> conn_table::live(const peer_id& peer) const {
  auto l = live_.find(peer);
  if (l == live_.end())
    return std::nullopt;
  return l->second;
}

std::optional<conn_id> conn_table::oldest_half_open() const {
  std::optional<conn_id> oldest;
  for (auto& [c, rec] : records_)
    if (rec.held == slot::half_open && (!oldest || c < *oldest))
      oldest = c;
  return oldest;
}

// -- transitions -----------------------------------------------------------------

void conn_table::enter(record& rec, phase p) {
  rec.ph = p;
  if (p != phase::closing && p > rec.reached)
    rec.reached = p;
}

conn_id conn_table::add(const connection_info& info,
                        caf::optional<endpoint> target) {
  auto c = next_id_++;
  auto& rec = records_[c];
  rec.info = info;
  rec.bootstrap_owed = target && info.from == origin::bootstrap_out;
  rec.target = std::move(target);
  return c;
}

conn_table::admitted conn_table::on_conn_up(conn_id c,
                                            const connection_info& info) {
  admitted result;
  auto rec = get(c);
  if (rec == nullptr || rec->ph != phase::admitting)
    return result;
  if (!rec->target)
    rec->info = info;
  if (!rec->info.inbound) { // dialled by us: checked before dialling
    enter(*rec, phase::handshaking);
    return result;
  }
  auto& ip = rec->info.remote.host;
  result.verdict = adm_.admit(ip);
  // With every handshake slot taken, the oldest half-open connection
  // makes room for the newest: a flood from many addresses then has to
  // outpace honest handshakes (which finish within a round trip) instead
  // of merely filling the slots once and holding them until the
  // handshake timeout.
  if (result.verdict == admission::verdict::too_many_half_open_total) {
    if (auto old = oldest_half_open()) {
      auto& victim = records_.at(*old);
      release_slot(victim); // free now, not when its actor reports back
      victim.settled = true;
      close(*old, to_string(result.verdict));
      result.evicted = old;
      result.verdict = adm_.admit(ip);
    }
  }
  if (result.verdict == admission::verdict::admit) {
    rec->held = slot::half_open;
    enter(*rec, phase::handshaking);
    return result;
  }
  rec->settled = true;
  close(c, to_string(result.verdict));
  return result;
}

conn_table::identified_outcome
conn_table::on_hello(conn_id c, const peer_id& peer, uint64_t session,
                     bool bootstrapping) {
  using act = identified_outcome::action;
  identified_outcome result;
  auto rec = get(c);
  // Closing already (evicted, refused, dropped while its HELLO was on the
  // way): nothing more to decide.
  if (rec == nullptr || rec->ph != phase::handshaking)
    return result;
  if (rec->info.inbound && bootstrapping)
    rec->info.from = origin::bootstrap_in;
  if (rec->held == slot::half_open) {
    adm_.established(rec->info.remote.host);
    rec->held = slot::established;
  }
  rec->peer = peer;
  rec->session = session;
  enter(*rec, phase::identified);
  bool asked = rec->target && rec->info.from == origin::direct;
  auto refusal = adm_.blocked(peer) ? "blacklisted"
                 : !adm_.allowed(rec->info.remote.host, peer)
                   ? "not on the allow list"
                   : nullptr;
  if (refusal) {
    result.act = act::refuse;
    result.why = refusal;
    result.tell_application = asked && !rec->settled;
    rec->settled = true;
    close(c, refusal);
    return result;
  }
  if (peer == local_) {
    result.act = act::close_self;
    result.tell_application = asked;
    rec->settled = true;
    close(c, "connected to itself");
    return result;
  }
  if (!leads(peer)) {
    result.act = act::wait;
    return result;
  }
  conn_id a = 0;
  if (auto anchor = anchor_for(*rec, &a); anchor && !anchor->path) {
    result.act = act::path;
    result.anchor = a;
    make_path(c, *rec, a, *anchor, result.superseded,
              result.superseded_carried, result.move_now);
    return result;
  }
  if (auto l = live_.find(peer); l != live_.end()
                                 && records_.at(l->second).session == session) {
    result.act = act::close_duplicate;
    rec->settled = true;
    close(c, "duplicate");
    return result;
  }
  result.act = act::select;
  result.superseded = make_live(c, *rec);
  return result;
}

conn_table::selected_outcome conn_table::on_selected(conn_id c) {
  selected_outcome result;
  auto rec = get(c);
  if (rec == nullptr || rec->ph != phase::identified)
    return result;
  conn_id a = 0;
  if (auto anchor = anchor_for(*rec, &a)) {
    result.anchor = a;
    make_path(c, *rec, a, *anchor, result.superseded,
              result.superseded_carried, result.move_now);
    return result;
  }
  result.live = true;
  result.superseded = make_live(c, *rec);
  return result;
}

// `c` becomes its peer's live connection; a live one it replaces is
// closed as superseded (its peer_lost is said by the caller, now).
std::optional<conn_id> conn_table::make_live(conn_id c, record& rec) {
  std::optional<conn_id> old;
  auto l = live_.find(rec.peer);
  if (l != live_.end() && l->second != c) {
    auto& was = records_.at(l->second);
    if (was.reached == phase::kept)
      --kept_;
    was.settled = true;
    old = l->second;
    close(*old, "superseded");
  }
  live_[rec.peer] = c;
  enter(rec, phase::undecided);
  return old;
}

conn_table::record* conn_table::anchor_for(const record& rec, conn_id* a) {
  auto l = live_.find(rec.peer);
  if (l == live_.end() || rec.info.proto == transport::relay)
    return nullptr;
  auto& live = records_.at(l->second);
  if (live.info.proto != transport::relay || live.session != rec.session
      || (live.ph != phase::undecided && live.ph != phase::kept))
    return nullptr;
  *a = l->second;
  return &live;
}

// `c` becomes `a`'s path; an earlier path the leader gave up on (it
// chose this one) is closed.
void conn_table::make_path(conn_id c, record& rec, conn_id a, record& anchor,
                           std::optional<conn_id>& superseded,
                           bool& carried, bool& move_now) {
  if (anchor.path && *anchor.path != c) {
    superseded = anchor.path;
    carried = anchor.moved;
    settle(*anchor.path);
    close(*anchor.path, "replaced by a newer path");
    if (auto old = get(*anchor.path))
      old->anchor.reset();
  }
  rec.anchor = a;
  rec.settled = true; // its end is the anchor's to tell
  enter(rec, phase::path);
  anchor.path = c;
  anchor.moved = false;
  move_now = start_move(a).has_value();
}

std::optional<conn_id> conn_table::start_move(conn_id a) {
  auto anchor = get(a);
  if (anchor == nullptr || anchor->ph != phase::kept || !anchor->path
      || anchor->moved)
    return std::nullopt;
  auto path = get(*anchor->path);
  if (path == nullptr || path->ph != phase::path)
    return std::nullopt;
  anchor->moved = true;
  return anchor->path;
}

bool conn_table::wants_path(const peer_id& peer) const {
  auto c = live(peer);
  if (!c)
    return false;
  auto& rec = records_.at(*c);
  return rec.info.proto == transport::relay && !rec.path
         && (rec.ph == phase::undecided || rec.ph == phase::kept);
}

std::optional<conn_id> conn_table::carrier(const peer_id& peer) const {
  auto c = live(peer);
  if (!c)
    return c;
  auto& rec = records_.at(*c);
  if (rec.moved && rec.path)
    return rec.path;
  return c;
}

std::optional<conn_id> conn_table::keep(const peer_id& peer) {
  auto l = live_.find(peer);
  if (l == live_.end())
    return std::nullopt;
  auto& rec = records_.at(l->second);
  if (rec.ph == phase::undecided) {
    enter(rec, phase::kept);
    ++kept_;
  }
  if (rec.ph != phase::kept)
    return std::nullopt;
  return l->second;
}

std::optional<conn_table::ending::bootstrap_result>
conn_table::reached(conn_id c) {
  auto rec = get(c);
  if (rec == nullptr || !rec->bootstrap_owed)
    return std::nullopt;
  rec->bootstrap_owed = false;
  return ending::bootstrap_result{true, false, {}};
}

bool conn_table::close(conn_id c, std::string reason) {
  auto rec = get(c);
  if (rec == nullptr || rec->ph == phase::closing)
    return false;
  rec->reason = std::move(reason);
  // A live one stays its peer's live connection (and kept, if it was)
  // until it is gone or superseded.
  enter(*rec, phase::closing);
  return true;
}

void conn_table::settle(conn_id c) {
  if (auto rec = get(c))
    rec->settled = true;
}

std::vector<std::pair<peer_id, conn_id>> conn_table::kept_peers() const {
  std::vector<std::pair<peer_id, conn_id>> out;
  for (auto& [peer, c] : live_)
    if (auto rec = find(c); rec && rec->ph == phase::kept)
      out.emplace_back(peer, c);
  return out;
}

void conn_table::mark_punched(conn_id c) {
  if (auto rec = get(c))
    rec->info.from = origin::punched;
}

void conn_table::release_slot(record& rec) {
  if (rec.held == slot::none)
    return;
  adm_.closed(rec.info.remote.host, rec.held == slot::established);
  rec.held = slot::none;
}

// The one place a connection's end turns into what the application and
// the bootstrap round hear.
conn_table::ending conn_table::on_closed(conn_id c, std::string reason) {
  ending e;
  auto i = records_.find(c);
  if (i == records_.end())
    return e;
  auto rec = std::move(i->second);
  records_.erase(i);
  release_slot(rec);
  if (rec.identified()) {
    if (auto l = live_.find(rec.peer); l != live_.end() && l->second == c) {
      if (rec.reached == phase::kept)
        --kept_;
      live_.erase(l);
      e.was_live = true;
    }
  }
  // A path's end is its anchor's business; an anchor's end takes its
  // path along.
  if (rec.anchor) {
    if (auto anchor = get(*rec.anchor); anchor && anchor->path == c) {
      anchor->path.reset();
      anchor->moved = false;
      e.anchor = rec.anchor;
    }
  }
  if (rec.path) {
    if (auto path = get(*rec.path); path && path->anchor == c) {
      path->anchor.reset();
      if (path->ph != phase::closing)
        e.orphan = rec.path;
      close(*rec.path, rec.reason.empty() ? reason : rec.reason);
    }
  }
  e.peer = rec.peer;
  e.target = rec.target;
  e.reason = rec.reason.empty() ? std::move(reason) : rec.reason;
  // Connected to that peer through another connection (a duplicate won).
  bool connected = rec.identified() && live(rec.peer);
  using tell = ending::to_application;
  if (e.was_live && !rec.settled) {
    e.tell = tell::peer_lost;
  } else if (rec.target && !rec.announced() && !connected
             && rec.info.from != origin::punched
             && rec.reached != phase::path) {
    // (A path was reached; its end is no failed dial, even after its
    // anchor's.)
    // A punch's sockets are its attempt's to report, not the cache's.
    e.dial_failed = true;
    if (rec.bootstrap_owed) {
      rec.bootstrap_owed = false;
      e.bootstrap = ending::bootstrap_result{false, true, e.reason};
    } else if (!rec.settled && rec.info.from == origin::direct) {
      e.tell = tell::connection_failed;
    }
  }
  if (rec.bootstrap_owed) {
    if (rec.announced()) // the application did not keep it
      e.bootstrap = ending::bootstrap_result{false, false,
                                             "not kept: " + e.reason};
    else // we are connected to that peer through another connection
      e.bootstrap = ending::bootstrap_result{connected, !connected, e.reason};
  }
  return e;
}

const char* to_string(conn_table::phase p) {
  switch (p) {
    case conn_table::phase::admitting:
      return "admitting";
    case conn_table::phase::handshaking:
      return "handshaking";
    case conn_table::phase::identified:
      return "identified";
    case conn_table::phase::path:
      return "path";
    case conn_table::phase::undecided:
      return "undecided";
    case conn_table::phase::kept:
      return "kept";
    case conn_table::phase::closing:
      return "closing";
  }
  return "unknown";
}

} // namespace crust
