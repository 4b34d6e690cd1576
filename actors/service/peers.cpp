// What happens as connections come, identify themselves and go: the
// service carries out what node/conn_table decides (admit, select, close)
// and tells the application, the cache and a bootstrap round what the
// table says each of them hears.
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "crust/messages.hpp"
#include "transports/ip_endpoint.hpp"

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
  if (st.punch)
    s.punches = st.punch->registry();
  return s;
}

namespace {

conn_id track(self_ptr self, const connection_actor& hdl, conn_id c) {
  auto& st = self->state;
  st.actors.ids.emplace(hdl.address(), c);
  st.actors.by_id.emplace(c, hdl);
  self->monitor(hdl);
  st.children->insert(caf::actor_cast<caf::actor>(hdl));
  return c;
}

} // namespace

void register_dialled(self_ptr self, const connection_actor& hdl,
                      const connection_setup& setup) {
  track(self, hdl, self->state.conns->add(setup.info, setup.target));
}

conn_id register_conn(self_ptr self, const connection_actor& hdl) {
  auto& st = self->state;
  if (auto i = st.actors.ids.find(hdl.address()); i != st.actors.ids.end())
    return i->second;
  return track(self, hdl, st.conns->add());
}

std::optional<conn_id> sender_conn(self_ptr self) {
  auto& ids = self->state.actors.ids;
  auto i = ids.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (i == ids.end())
    return std::nullopt;
  return i->second;
}

std::optional<conn_id> speaker_conn(self_ptr self) {
  auto c = sender_conn(self);
  if (!c)
    return c;
  auto rec = self->state.conns->find(*c);
  if (rec && rec->anchor) {
    auto anchor = self->state.conns->find(*rec->anchor);
    if (anchor && anchor->moved && anchor->path == c)
      return rec->anchor;
  }
  return c;
}

void close_conn(self_ptr self, conn_id c, wire::close_reason r,
                std::string reason) {
  auto& st = self->state;
  st.conns->close(c, std::move(reason));
  if (auto hdl = st.actors.find(c))
    self->send(*hdl, close_atom::value, static_cast<uint8_t>(r));
}

namespace {

std::string address_of(const conn_table::record& rec) {
  return to_string(ip_endpoint{rec.info.remote.host, rec.info.remote.port});
}

// Asks a connection the table closed already to close on the wire.
void send_close(self_ptr self, conn_id c, wire::close_reason r) {
  if (auto hdl = self->state.actors.find(c))
    self->send(*hdl, close_atom::value, static_cast<uint8_t>(r));
}

void announce(self_ptr self, conn_id c) {
  auto& st = self->state;
  auto rec = st.conns->find(c);
  auto link = caf::actor_cast<caf::actor>(*st.actors.find(c));
  self->send(st.handler,
             new_peer{rec->peer, rec->info, link, st.opts.send_queue_size});
  set_timer(self, st.opts.decision_timeout, decide_atom::value, c);
  events::announced ev{c, rec->peer, std::nullopt};
  if (!rec->info.inbound && rec->target)
    ev.dialled = *rec->target;
  fan_out(self, ev);
}

// A live connection was replaced by a newer one (`by`); the table closed
// it already.
void superseded(self_ptr self, conn_id old, conn_id by) {
  auto& st = self->state;
  auto was = st.conns->find(old);
  auto now = st.conns->find(by);
  std::string why = "superseded by a newer connection";
  if (was && now && was->session != now->session)
    why += " (the peer restarted)";
  self->send(st.handler, peer_lost{was->peer, why});
  send_close(self, old, wire::close_reason::superseded);
}

} // namespace

void on_closed(self_ptr self, conn_id c, std::string reason) {
  auto& st = self->state;
  auto hdl = st.actors.find(c);
  if (hdl == nullptr)
    return;
  st.actors.ids.erase(hdl->address());
  st.children->erase(caf::actor_cast<caf::actor>(*hdl));
  st.actors.by_id.erase(c);
  st.paths.erase(c);
  auto end = st.conns->on_closed(c, std::move(reason));
  // An anchor's path goes with it (the connection ended: not `moved`,
  // which would have the peer hand it back to a relay end that is gone).
  if (end.orphan)
    send_close(self, *end.orphan, wire::close_reason::normal);
  using tell = conn_table::ending::to_application;
  switch (end.tell) {
    case tell::peer_lost:
      self->send(st.handler, peer_lost{end.peer, end.reason});
      break;
    case tell::connection_failed:
      self->send(st.handler,
                 connection_failed{to_string(*end.target), end.reason});
      break;
    case tell::nothing:
      break;
  }
  fan_out(self, events::lost{std::move(end), c});
  quit_when_done(self);
}

void quit_when_done(self_ptr self) {
  auto& st = self->state;
  if (st.stopping && st.conns->empty() && st.closing == 0)
    self->quit();
}

void on_conn_up(self_ptr self, conn_id c, const connection_info& info) {
  auto& st = self->state;
  auto out = st.conns->on_conn_up(c, info);
  if (out.evicted) {
    auto why = to_string(admission::verdict::too_many_half_open_total);
    auto victim = st.conns->find(*out.evicted);
    self->send(st.handler, misbehaving{address_of(*victim), {},
                                       misbehaviour::flood,
                                       "evicted unfinished: " + why});
    send_close(self, *out.evicted, wire::close_reason::refused);
  }
  auto rec = st.conns->find(c);
  if (rec == nullptr)
    return;
  if (rec->ph == conn_table::phase::handshaking) {
    self->send(caf::actor_cast<caf::actor>(*st.actors.find(c)), admit_atom::value);
    return;
  }
  auto v = out.verdict;
  if (v != admission::verdict::blacklisted
      && v != admission::verdict::not_allowed)
    self->send(st.handler, misbehaving{address_of(*rec), {},
                                       misbehaviour::flood, to_string(v)});
  send_close(self, c, wire::close_reason::refused);
}

void on_hello(self_ptr self, conn_id c, const peer_id& peer, uint64_t session,
              bool bootstrapping) {
  auto& st = self->state;
  auto out = st.conns->on_hello(c, peer, session, bootstrapping);
  auto rec = st.conns->find(c);
  using act = conn_table::identified_outcome::action;
  switch (out.act) {
    case act::ignore:
    case act::wait:
      return;
    case act::refuse:
      if (out.tell_application)
        self->send(st.handler,
                   connection_failed{to_string(*rec->target),
                                     std::string{"the peer is "} + out.why});
      send_close(self, c, wire::close_reason::refused);
      return;
    case act::close_self:
      if (out.tell_application)
        self->send(st.handler,
                   connection_failed{to_string(*rec->target),
                                     "that endpoint is this node itself"});
      send_close(self, c, wire::close_reason::self);
      return;
    case act::close_duplicate:
      send_close(self, c, wire::close_reason::duplicate);
      return;
    case act::select:
      if (out.superseded)
        superseded(self, *out.superseded, c);
      self->send(caf::actor_cast<caf::actor>(*st.actors.find(c)), select_atom::value);
      announce(self, c);
      return;
    case act::path:
      if (out.superseded && !out.superseded_carried)
        send_close(self, *out.superseded, wire::close_reason::duplicate);
      self->send(caf::actor_cast<caf::actor>(*st.actors.find(c)),
                 select_atom::value);
      if (out.move_now)
        start_move(self, *out.anchor, c);
      fan_out(self, events::path_up{c, peer});
      return;
  }
}

void start_move(self_ptr self, conn_id anchor, conn_id path) {
  auto& st = self->state;
  auto a = st.actors.find(anchor);
  auto p = st.actors.find(path);
  if (a && p)
    self->send(*a, path_leave_atom::value, caf::actor_cast<caf::actor>(*p));
}

void on_path(self_ptr self, conn_id anchor, bool direct) {
  auto& st = self->state;
  auto rec = st.conns->find(anchor);
  if (!rec)
    return;
  if (direct) {
    auto path = rec->path ? st.conns->find(*rec->path) : nullptr;
    if (!path)
      return;
    st.paths[anchor] = path->info;
    self->send(st.handler, path_changed{rec->peer, rec->info, path->info});
    return;
  }
  auto i = st.paths.find(anchor);
  if (i == st.paths.end())
    return;
  self->send(st.handler, path_changed{rec->peer, i->second, rec->info});
  st.paths.erase(i);
}

void on_selected(self_ptr self, conn_id c) {
  auto out = self->state.conns->on_selected(c);
  if (out.anchor) {
    // An earlier path that carries the connection gives it back when the
    // anchor moves on (start_move); one that did not is closed.
    if (out.superseded && !out.superseded_carried)
      send_close(self, *out.superseded, wire::close_reason::duplicate);
    if (out.move_now)
      start_move(self, *out.anchor, c);
    if (auto rec = self->state.conns->find(c))
      fan_out(self, events::path_up{c, rec->peer});
    return;
  }
  if (!out.live)
    return;
  if (out.superseded)
    superseded(self, *out.superseded, c);
  announce(self, c);
}

} // namespace crust
