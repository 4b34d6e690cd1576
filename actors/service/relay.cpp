// The service's relay part (relay_part.hpp).
#include <caf/all.hpp>

#include "actors/connection/connection.hpp"
#include "actors/service/relay_part.hpp"
#include "actors/service/state.hpp"
#include "actors/timer.hpp"

namespace crust {

namespace {

using relay_tick_atom = caf::atom_constant<caf::atom("relay_tick")>;

relay_limits limits_of(const service_options& o) {
  relay_limits l;
  l.max_circuits = o.relay_max_circuits;
  l.max_circuits_per_peer = o.relay_max_circuits_per_peer;
  l.circuit_bytes_per_sec = o.relay_circuit_bytes_per_sec;
  l.total_bytes_per_sec = o.relay_total_bytes_per_sec;
  l.idle_timeout
    = std::chrono::duration_cast<std::chrono::milliseconds>(o.relay_idle_timeout);
  return l;
}

std::vector<uint8_t> bytes_of(const relay_limits& l) {
  auto a = encode(l);
  return {a.begin(), a.end()};
}

} // namespace

relay_part::relay_part(self_ptr self)
  : self_(self), table_(limits_of(self->state.opts)) {
  // nop
}

// -- the relay ------------------------------------------------------------------

void relay_part::on_open(conn_id asker, uint32_t id, const peer_id& to) {
  auto& st = self_->state;
  auto rec = st.conns->find(asker);
  if (!rec || rec->ph != conn_table::phase::kept)
    return;
  if (!st.opts.relay) {
    if (auto hdl = st.actors.find(asker))
      self_->send(*hdl, circ_close_atom::value, id,
                  static_cast<uint8_t>(circuit_reason::refused));
    return;
  }
  conn_id target = 0;
  if (auto t = st.conns->live(to))
    if (auto trec = st.conns->find(*t);
        trec && trec->ph == conn_table::phase::kept)
      target = *t;
  auto from = rec->peer;
  auto opened = table_.open({asker, id}, from, target, to,
                            relay_table::clock::now());
  if (opened) {
    reported_.erase(from);
  } else if (table_.rate_refusals(from) >= loop_refusals
             && !reported_[from]) {
    reported_[from] = true;
    self_->send(st.handler,
                misbehaving{to_string(rec->info.remote),
                            caf::optional<peer_id>{from},
                            misbehaviour::flood,
                            "opens relay circuits in a loop"});
  }
  flush();
}

// What the table says goes to the connections it names; then its timer.
void relay_part::flush() {
  auto& st = self_->state;
  while (auto out = table_.poll_output()) {
    std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        auto hdl = st.actors.find(x.to.conn);
        if (!hdl)
          return;
        if constexpr (std::is_same_v<T, relay_table::opened>)
          self_->send(*hdl, circ_opened_atom::value, x.to.id, x.credit,
                      bytes_of(x.limits));
        else if constexpr (std::is_same_v<T, relay_table::incoming>)
          self_->send(*hdl, circ_in_atom::value, x.to.id, x.from, x.credit,
                      bytes_of(x.limits));
        else if constexpr (std::is_same_v<T, relay_table::data>)
          self_->send(*hdl, circ_data_atom::value, x.to.id,
                      std::move(x.bytes));
        else if constexpr (std::is_same_v<T, relay_table::credit>)
          self_->send(*hdl, circ_credit_atom::value, x.to.id, x.bytes);
        else if constexpr (std::is_same_v<T, relay_table::closed>)
          self_->send(*hdl, circ_close_atom::value, x.to.id,
                      static_cast<uint8_t>(x.why));
      },
      *out);
  }
  arm_deadline(self_, armed_, table_.poll_timeout(), relay_table::clock::now(),
               relay_tick_atom::value);
}

void relay_part::stop() {
  table_.stop();
  flush();
}

// -- an end ---------------------------------------------------------------------

void relay_part::connect_via_relay(
  const peer_id& peer, std::vector<conn_id> vias,
  std::function<void(const std::string&)> failed) {
  if (pending_.size() >= max_pending)
    return failed("too many relay circuits asked for at once");
  ask_next(pending{peer, std::move(vias), {}, std::move(failed)});
}

void relay_part::ask_next(pending p) {
  auto& st = self_->state;
  while (!p.rest.empty()) {
    auto via = p.rest.front();
    p.rest.erase(p.rest.begin());
    auto rec = st.conns->find(via);
    auto hdl = st.actors.find(via);
    if (!rec || !hdl || rec->ph != conn_table::phase::kept)
      continue;
    auto id = next_id_++;
    if (next_id_ >= relay_ids)
      next_id_ = 1;
    auto peer = p.peer;
    pending_.emplace(circuit_end{via, id}, std::move(p));
    self_->send(*hdl, circ_open_atom::value, id, peer);
    return;
  }
  std::string why;
  for (auto& r : p.reasons)
    why += (why.empty() ? "" : "; ") + r;
  p.failed(why.empty() ? "no kept peer relays" : why);
}

void relay_part::on_opened(conn_id via, uint32_t id, uint32_t credit,
                           const std::vector<uint8_t>& limits) {
  auto i = pending_.find({via, id});
  if (i == pending_.end())
    return;
  auto peer = i->second.peer;
  pending_.erase(i);
  // A punch that ran alongside got there first: the circuit is not
  // needed (its other end hears it closed before any handshake).
  if (self_->state.conns->live(peer)) {
    if (auto hdl = self_->state.actors.find(via))
      self_->send(*hdl, circ_close_atom::value, id,
                  static_cast<uint8_t>(circuit_reason::closed_by_peer));
    return;
  }
  spawn_end(via, id, peer, credit, limits, false);
}

void relay_part::on_incoming(conn_id via, uint32_t id, const peer_id& from,
                             uint32_t credit,
                             const std::vector<uint8_t>& limits) {
  auto& st = self_->state;
  auto rec = st.conns->find(via);
  if (!rec || rec->ph != conn_table::phase::kept || st.stopping) {
    if (auto hdl = st.actors.find(via))
      self_->send(*hdl, circ_close_atom::value, id,
                  static_cast<uint8_t>(circuit_reason::refused));
    return;
  }
  spawn_end(via, id, from, credit, limits, true);
}

void relay_part::spawn_end(conn_id via, uint32_t id, const peer_id& peer,
                           uint32_t credit, const std::vector<uint8_t>& limits,
                           bool inbound) {
  auto& st = self_->state;
  auto rec = st.conns->find(via);
  auto carrier = st.actors.find(via);
  if (!rec || !carrier || limits.size() != relay_limits_size)
    return;
  auto window = decode_relay_limits(limits.data()).window;
  auto setup = make_setup(self_);
  setup.info.proto = transport::relay;
  setup.info.from = origin::relayed;
  setup.info.inbound = inbound;
  // Where the relay is, and (remote) whom the circuit reaches through it.
  setup.info.local = endpoint{transport::relay, rec->info.remote.host,
                              rec->info.remote.port, {}};
  setup.info.remote = endpoint{transport::relay, rec->info.remote.host,
                               rec->info.remote.port, peer};
  if (!inbound)
    setup.target = setup.info.remote;
  auto hdl = spawn_relayed_connection(self_->home_system(), *carrier, id,
                                      credit, window, setup);
  // Before the connection is admitted (it sends nothing until then), so
  // the carrier routes the circuit's frames to it.
  self_->send(*carrier, circ_route_atom::value, id, caf::actor_cast<caf::actor>(hdl));
  ends_[circuit_end{via, id}] = caf::actor_cast<caf::actor>(hdl);
  if (inbound)
    register_conn(self_, hdl);
  else
    register_dialled(self_, hdl, setup);
}

// A circuit frame for us: an end's (a relayed connection that the
// carrier did not route yet, or our open request's answer) or the
// relay's.
void relay_part::on_close(conn_id c, uint32_t id, uint8_t why) {
  auto reason = why <= max_circuit_reason
                  ? to_string(static_cast<circuit_reason>(why))
                  : "unknown reason";
  if (auto e = ends_.find({c, id}); e != ends_.end()) {
    self_->send(e->second, circ_close_atom::value, id, why);
    ends_.erase(e);
    return;
  }
  if (auto p = pending_.find({c, id}); p != pending_.end()) {
    auto rest = std::move(p->second);
    pending_.erase(p);
    rest.reasons.push_back(reason);
    return ask_next(std::move(rest));
  }
  table_.handle_close({c, id});
  flush();
}

void relay_part::on(const service_event& ev) {
  auto gone = std::get_if<events::lost>(&ev);
  if (!gone)
    return;
  auto c = gone->c;
  // Its circuits as the relay's, its relayed connections as a carrier's
  // (the carrier told them), itself as a relayed connection, and our
  // requests on it.
  table_.handle_conn_lost(c);
  auto& ids = self_->state.actors.ids;
  for (auto i = ends_.begin(); i != ends_.end();)
    i = i->first.conn == c || !ids.count(i->second.address()) ? ends_.erase(i)
                                                              : std::next(i);
  std::vector<circuit_end> orphaned;
  for (auto& [e, p] : pending_)
    if (e.conn == c)
      orphaned.push_back(e);
  for (auto& e : orphaned) {
    auto p = std::move(pending_.at(e));
    pending_.erase(e);
    p.reasons.push_back("the connection to the relay ended");
    ask_next(std::move(p));
  }
  flush();
}

caf::message_handler relay_part::handlers() {
  auto self = self_;
  auto pass = [this](conn_id c, uint32_t id, auto&&... xs) -> bool {
    auto e = ends_.find({c, id});
    if (e == ends_.end())
      return false;
    self_->send(e->second, std::forward<decltype(xs)>(xs)...);
    return true;
  };
  return {
    [this, self](circ_open_atom, uint32_t id, const peer_id& to) {
      if (auto c = sender_conn(self))
        on_open(*c, id, to);
    },
    [this, self](circ_opened_atom, uint32_t id, uint32_t credit,
                 const std::vector<uint8_t>& limits) {
      if (auto c = sender_conn(self))
        on_opened(*c, id, credit, limits);
    },
    [this, self](circ_in_atom, uint32_t id, const peer_id& from,
                 uint32_t credit, const std::vector<uint8_t>& limits) {
      if (auto c = sender_conn(self))
        on_incoming(*c, id, from, credit, limits);
    },
    [this, self, pass](circ_data_atom, uint32_t id,
                       std::vector<uint8_t>& bytes) {
      auto c = sender_conn(self);
      if (!c || pass(*c, id, circ_data_atom::value, id, bytes))
        return;
      if (!table_.handle_data({*c, id}, std::move(bytes),
                              relay_table::clock::now()))
        if (auto rec = self->state.conns->find(*c))
          self->send(self->state.handler,
                     misbehaving{to_string(rec->info.remote),
                                 caf::optional<peer_id>{rec->peer},
                                 misbehaviour::protocol_violation,
                                 "sent more than its circuit credit"});
      flush();
    },
    [this, self, pass](circ_credit_atom, uint32_t id, uint32_t n) {
      auto c = sender_conn(self);
      if (!c || pass(*c, id, circ_credit_atom::value, id, n))
        return;
      table_.handle_credit({*c, id}, n, relay_table::clock::now());
      flush();
    },
    [this, self](circ_close_atom, uint32_t id, uint8_t why) {
      if (auto c = sender_conn(self))
        on_close(*c, id, why);
    },
    [this](relay_tick_atom) {
      armed_.reset();
      table_.handle_timeout(relay_table::clock::now());
      flush();
    },
  };
}

} // namespace crust
