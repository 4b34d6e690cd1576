#include "actors/service_state.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "crust/messages.hpp"

namespace crust {

connection_setup make_setup(self_ptr self) {
  auto& st = self->state;
  connection_setup s;
  s.opts = st.opts;
  s.local_id = st.id;
  s.static_key = st.static_key;
  s.session = st.session;
  s.service = caf::actor_cast<caf::actor>(self);
  s.handler = st.handler;
  s.ips = st.ips;
  return s;
}

void register_dialled(self_ptr self, const caf::actor& hdl,
                      const connection_setup& setup) {
  auto& rec = self->state.conns[register_conn(self, hdl)];
  rec.info = setup.info;
  rec.target = setup.target;
  rec.bootstrap = setup.info.from == origin::bootstrap_out;
}

conn_id register_conn(self_ptr self, const caf::actor& hdl) {
  auto& st = self->state;
  auto addr = hdl.address();
  if (auto i = st.ids.find(addr); i != st.ids.end())
    return i->second;
  auto c = st.next_id++;
  st.ids.emplace(addr, c);
  st.conns[c].hdl = hdl;
  st.table->add(c);
  self->monitor(hdl);
  st.children->insert(hdl);
  return c;
}

std::optional<conn_id> sender_conn(self_ptr self) {
  auto& st = self->state;
  auto i = st.ids.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (i == st.ids.end())
    return std::nullopt;
  return i->second;
}

void close_conn(self_ptr self, conn_id c, wire::close_reason r,
                std::string reason) {
  auto& rec = self->state.conns[c];
  if (rec.reason.empty())
    rec.reason = std::move(reason);
  self->send(rec.hdl, close_atom::value, static_cast<uint8_t>(r));
}

namespace {

void announce(self_ptr self, conn_id c) {
  auto& st = self->state;
  auto e = st.table->find(c);
  auto& rec = st.conns[c];
  rec.reported = false;
  rec.announced = true;
  self->send(st.handler, new_peer{e->peer, rec.info, rec.hdl,
                               st.opts.send_queue_size});
  set_timer(self, st.opts.decision_timeout, decide_atom::value, c);
  if (!rec.info.inbound && rec.target)
    direct_success(self, e->peer, *rec.target);
}

// A live connection was replaced by a newer one (`by`).
void supersede(self_ptr self, conn_id old, conn_id by) {
  auto& st = self->state;
  auto& rec = st.conns[old];
  rec.reported = true;
  auto was = st.table->find(old);
  auto now = st.table->find(by);
  std::string why = "superseded by a newer connection";
  if (was && now && was->session != now->session)
    why += " (the peer restarted)";
  self->send(st.handler, peer_lost{was->peer, why});
  close_conn(self, old, wire::close_reason::superseded, "superseded");
}

} // namespace

void on_closed(self_ptr self, conn_id c, std::string reason) {
  auto& st = self->state;
  auto i = st.conns.find(c);
  if (i == st.conns.end())
    return;
  auto rec = std::move(i->second);
  st.conns.erase(i);
  if (rec.counted)
    st.adm->closed(rec.info.remote.host, rec.established);
  st.ids.erase(rec.hdl.address());
  st.children->erase(rec.hdl);
  auto entry = st.table->find(c);
  auto peer = entry ? std::optional<peer_id>{entry->peer} : std::nullopt;
  auto lost = st.table->remove(c);
  if (!rec.reason.empty())
    reason = rec.reason;
  auto connected = peer && st.table->live(*peer); // e.g. by a duplicate
  if (lost && !rec.reported) {
    self->send(st.handler, peer_lost{*lost, reason});
  } else if (rec.target && !rec.announced && !connected) {
    dial_failure(self, *rec.target);
    if (rec.bootstrap)
      bootstrap_outcome(self, rec, false, true, reason);
    else if (!rec.reported && asked_by_application(rec))
      self->send(st.handler,
                 connection_failed{to_string(*rec.target), reason});
  }
  if (rec.announced) // the application did not keep it
    bootstrap_outcome(self, rec, false, false, "not kept: " + reason);
  else // we are connected to that peer through another connection
    bootstrap_outcome(self, rec, connected, !connected, reason);
  if (lost)
    kept_changed(self);
  quit_when_done(self);
}

void quit_when_done(self_ptr self) {
  auto& st = self->state;
  if (st.stopping && st.conns.empty() && st.closing == 0)
    self->quit();
}

namespace {

// With every handshake slot taken, the oldest half-open connection makes
// room for the newest: a flood from many addresses then has to outpace
// honest handshakes (which finish within a round trip) instead of merely
// filling the slots once and holding them until the handshake timeout.
bool evict_oldest_half_open(self_ptr self) {
  auto& st = self->state;
  std::optional<conn_id> oldest;
  for (auto& [c, rec] : st.conns)
    if (rec.counted && !rec.established && (!oldest || c < *oldest))
      oldest = c;
  if (!oldest)
    return false;
  auto& rec = st.conns[*oldest];
  // Its slot is free now, not when its actor reports back.
  st.adm->closed(rec.info.remote.host, false);
  rec.counted = false;
  rec.reported = true;
  auto why = to_string(admission::verdict::too_many_half_open_total);
  self->send(st.handler,
             misbehaving{rec.info.remote.host + ":"
                           + std::to_string(rec.info.remote.port),
                         {}, misbehaviour::flood,
                         "evicted unfinished: " + why});
  close_conn(self, *oldest, wire::close_reason::refused, why);
  return true;
}

} // namespace

void on_conn_up(self_ptr self, conn_id c, const connection_info& info) {
  auto& st = self->state;
  auto& rec = st.conns[c];
  if (!rec.target)
    rec.info = info;
  if (!rec.info.inbound) { // dialled by us: checked before dialling
    self->send(rec.hdl, admit_atom::value);
    return;
  }
  auto& ip = rec.info.remote.host;
  auto v = st.adm->admit(ip);
  if (v == admission::verdict::too_many_half_open_total
      && evict_oldest_half_open(self))
    v = st.adm->admit(ip);
  if (v == admission::verdict::admit) {
    rec.counted = true;
    self->send(rec.hdl, admit_atom::value);
    return;
  }
  rec.reported = true;
  if (v != admission::verdict::blacklisted
      && v != admission::verdict::not_allowed)
    self->send(st.handler,
               misbehaving{ip + ":" + std::to_string(rec.info.remote.port), {},
                           misbehaviour::flood, to_string(v)});
  close_conn(self, c, wire::close_reason::refused, to_string(v));
}

void on_hello(self_ptr self, conn_id c, const peer_id& peer, uint64_t session,
              bool bootstrapping) {
  auto& st = self->state;
  auto& rec = st.conns[c];
  if (rec.info.inbound && bootstrapping)
    rec.info.from = origin::bootstrap_in;
  if (rec.counted && !rec.established) {
    st.adm->established(rec.info.remote.host);
    rec.established = true;
  } else if (!rec.counted && rec.info.inbound) {
    return; // evicted while its hello was on the way: it is closing
  }
  auto refusal = st.adm->blocked(peer) ? "blacklisted"
                 : !st.adm->allowed(rec.info.remote.host, peer)
                   ? "not on the allow list"
                   : nullptr;
  if (refusal) {
    if (rec.target && !rec.reported && asked_by_application(rec))
      self->send(st.handler,
                 connection_failed{to_string(*rec.target),
                                   std::string{"the peer is "} + refusal});
    rec.reported = true;
    close_conn(self, c, wire::close_reason::refused, refusal);
    return;
  }
  auto out = st.table->on_hello(c, peer, session);
  switch (out.act) {
    case peer_table::action::wait:
      return;
    case peer_table::action::close_self: {
      auto& rec = st.conns[c];
      if (rec.target && asked_by_application(rec))
        self->send(st.handler,
                   connection_failed{to_string(*rec.target),
                                     "that endpoint is this node itself"});
      rec.reported = true;
      close_conn(self, c, wire::close_reason::self, "connected to itself");
      return;
    }
    case peer_table::action::close_duplicate:
      st.conns[c].reported = true;
      close_conn(self, c, wire::close_reason::duplicate, "duplicate");
      return;
    case peer_table::action::select:
      if (out.superseded)
        supersede(self, *out.superseded, c);
      self->send(st.conns[c].hdl, select_atom::value);
      announce(self, c);
      return;
  }
}

void on_selected(self_ptr self, conn_id c) {
  if (auto old = self->state.table->on_selected(c))
    supersede(self, *old, c);
  announce(self, c);
}

} // namespace crust
