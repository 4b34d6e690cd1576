// The service's hole-punching part (punch_part.hpp): our attempts; the
// introducer role is punch_introducer.cpp, application signalling
// punch_rendezvous.cpp, tries for relayed peers punch_upgrade.cpp, a relay
// alongside or after a punch punch_relay.cpp.
#include "actors/service/punch_part.hpp"
#include "actors/service/state.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <sodium.h>

#include "actors/hole_punch.hpp"
#include "crust/errors.hpp"
#include "nat/punch/candidates.hpp"
#include "nat/punch/signal.hpp"
#include "transports/bytes.hpp"
#include "transports/io/interfaces.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

// The attempt a signal (or a FORWARD_FAILED's context) belongs to.
std::optional<attempt_id> attempt_of(const std::vector<uint8_t>& signal) {
  attempt_id id;
  if (!peek_attempt(signal.data(), signal.size(), id))
    return std::nullopt;
  return id;
}

// An attempt id as attempts and punchers send it: its 16 bytes.
std::optional<attempt_id> attempt_from(const std::vector<uint8_t>& raw) {
  return bytes::to_array<attempt_id>(raw);
}

std::string target_text(const peer_id& peer) {
  return "peer:" + to_string(peer);
}

punch_attempt::settings attempt_settings(const service_options& o) {
  punch_attempt::settings s;
  s.overall = o.punch_timeout;
  // Three rounds share the timeout, up to about 3 s each.
  s.round_time = std::min<punch_attempt::duration>(std::chrono::seconds(3),
                                                   o.punch_timeout / 3);
  s.birthday = o.punch_birthday;
  return s;
}

} // namespace

// What we bring to an attempt with `peer`: our candidates, our NAT's
// mapping, and the paths we may punch (UDP while our rudp socket is
// open; birthday mode as configured).
punch_attempt::local_info punch_part::our_info(const peer_id& peer) const {
  auto& st = self_->state;
  bool udp = st.opts.punch_udp && st.listen->rudp_ready();
  local_view v;
  v.interface_ips = reachable_addresses(st.opts.listen_address);
  v.tcp_port = st.opts.punch_tcp ? st.listen->bound_port() : 0;
  v.udp_port = udp ? st.listen->udp_port() : 0;
  if (auto& view = st.nat->view())
    v.outside = *view;
  for (auto& [observer, seen] : st.nat->echoes())
    v.lone_echoes.push_back(seen);
  punch_attempt::local_info li;
  li.candidates = gather_candidates(v);
  li.mapping = parse_nat_mapping(v.outside.mapping);
  li.caps = 0;
  if (st.opts.punch_tcp)
    li.caps |= cap_tcp;
  if (udp)
    li.caps |= cap_udp | (st.opts.punch_birthday ? cap_birthday : 0);
  li.udp_dialer = st.id < peer;
  return li;
}

// -- our attempts ---------------------------------------------------------------

void punch_part::connect_peer(const crust::connect_peer& cmd) {
  auto& st = self_->state;
  if (cmd.peer == st.id)
    return fail(cmd.peer, "that is this node's own id");
  if (st.conns->live(cmd.peer))
    return; // connected already
  for (auto& [id, rec] : attempts_)
    if (rec.peer == cmd.peer)
      return; // an attempt runs
  if (attempts_.size() >= max_attempts)
    return fail(cmd.peer, "too many hole punches at once");
  if (st.listen->bound_port() == 0)
    return fail(cmd.peer, "not listening yet");
  // The mutual peers to ask: the one named, or every kept peer but the
  // target (each that does not keep it says so).
  std::vector<conn_id> vias;
  for (auto& [peer, c] : st.conns->kept_peers()) {
    if (peer == cmd.peer || (cmd.via && peer != *cmd.via))
      continue;
    if (vias.size() < max_vias)
      vias.push_back(c);
  }
  if (vias.empty())
    return fail(cmd.peer, cmd.via ? "the mutual peer named is not kept"
                                  : "no kept peer to introduce us");
  attempt_id id;
  probe_key key;
  randombytes_buf(id.data(), id.size());
  randombytes_buf(key.data(), key.size());
  spawn_attempt(true, id, key, cmd.peer, std::move(vias), std::nullopt);
}

void punch_part::spawn_attempt(bool offerer, const attempt_id& id,
                               const probe_key& key, const peer_id& peer,
                               std::vector<conn_id> vias,
                               std::optional<punch_signal> offer,
                               bool signalled) {
  auto& st = self_->state;
  hole_punch_setup hs;
  hs.role = offerer ? punch_attempt::role::offerer
                    : punch_attempt::role::answerer;
  hs.attempt = id;
  hs.key = key;
  hs.peer = peer;
  hs.me = st.me;
  hs.network = st.opts.network_name;
  hs.ours = our_info(peer);
  hs.settings = attempt_settings(st.opts);
  hs.local = ip_endpoint{st.opts.listen_address, st.listen->bound_port()};
  hs.service = caf::actor_cast<caf::actor>(self_);
  hs.rudp = st.listen->rudp_engine();
  hs.udp = st.listen->rudp_ep();
  hs.registry = registry_;
  hs.offer = std::move(offer);
  hs.signalled = signalled;
  auto hdl = self_->spawn(hole_punch, std::move(hs));
  self_->monitor(hdl);
  st.children->insert(hdl);
  // The application hears how an attempt it asked for ended: ours when we
  // offered, and every one it signalled itself.
  auto& rec = attempts_[id];
  rec.actor = hdl;
  rec.peer = peer;
  rec.key = key;
  rec.vias = std::move(vias);
  rec.ours = offerer || signalled;
  // Happy eyeballs for the relay: one the application waits on gets a
  // circuit alongside once the punch had its head start (a punch that
  // gets through later becomes the connection's direct path).
  if (rec.ours && st.opts.relay_after.count() > 0)
    set_timer(self_, st.opts.relay_after, relay_early_atom::value,
              std::vector<uint8_t>(id.begin(), id.end()));
}

// A signal for us, passed on by a kept peer: the origin signed it for us.
// One that does not verify could be the forwarder's doing or the
// origin's, so it is counted and dropped, not held against either.
void punch_part::on_signal(conn_id via, const peer_id& from,
                           const std::vector<uint8_t>& payload) {
  auto& st = self_->state;
  auto rec = st.conns->find(via);
  if (!rec || rec->ph != conn_table::phase::kept)
    return;
  auto id = attempt_of(payload);
  if (!id) {
    ++bad_signals_;
    return;
  }
  if (auto i = attempts_.find(*id); i != attempts_.end()) {
    if (i->second.peer != from) {
      ++bad_signals_;
      return;
    }
    // From now on our signals take the path the peer's came by.
    i->second.vias = {via};
    self_->send(i->second.actor, punch_in_atom::value, payload);
    return;
  }
  auto s = decode_signal(from, st.id, st.opts.network_name, payload.data(),
                         payload.size());
  if (!s) {
    ++bad_signals_;
    return;
  }
  // A new attempt only for a first OFFER from a peer we are not connected
  // to, with none of its attempts running, within the cap.
  if (s->kind != signal_kind::offer || !may_punch(from)
      || attempts_.size() >= max_attempts || st.listen->bound_port() == 0)
    return;
  for (auto& [aid, r] : attempts_)
    if (r.peer == from)
      return;
  spawn_attempt(false, *id, s->key, from, {via}, *s);
}

void punch_part::on_forward_failed(conn_id via,
                                   const std::vector<uint8_t>& context) {
  auto id = attempt_of(context);
  if (!id)
    return;
  auto i = attempts_.find(*id);
  if (i == attempts_.end())
    return;
  auto& vias = i->second.vias;
  vias.erase(std::remove(vias.begin(), vias.end(), via), vias.end());
  if (vias.empty())
    self_->send(i->second.actor, punch_cancel_atom::value,
                std::string{"no mutual peer passed our signals on"});
}

void punch_part::on_punched_socket(caf::io::network::native_socket fd,
                                   const std::string& ip, uint16_t port,
                                   const std::vector<uint8_t>& attempt) {
  auto& st = self_->state;
  auto aid = attempt_from(attempt);
  auto i = aid ? attempts_.find(*aid) : attempts_.end();
  if (i == attempts_.end() || st.stopping || !may_punch(i->second.peer)) {
    caf::io::network::close_socket(fd);
    return;
  }
  auto setup = make_setup(self_);
  setup.info.proto = transport::tcp;
  setup.info.inbound = false;
  setup.info.from = origin::punched;
  setup.info.local = endpoint{transport::tcp, st.opts.listen_address,
                              st.listen->bound_port(), {}};
  setup.info.remote = endpoint{transport::tcp, ip, port, {}};
  setup.target = endpoint{transport::tcp, ip, port, i->second.peer};
  setup.punch = secure_channel::punch_path{*aid, i->second.key,
                                           i->second.peer};
  register_dialled(self_, spawn_tcp_connection(self_->home_system(), fd, setup),
                   setup);
}

void punch_part::on_done(const std::vector<uint8_t>& attempt, bool connected,
                         uint8_t round, const std::string& reasons) {
  auto& st = self_->state;
  auto aid = attempt_from(attempt);
  auto i = aid ? attempts_.find(*aid) : attempts_.end();
  if (i == attempts_.end())
    return;
  // (A relayed peer's try made a path: that is where it runs now.)
  auto c = connected ? st.conns->carrier(i->second.peer) : std::nullopt;
  auto rec = c ? st.conns->find(*c) : nullptr;
  // (A relayed connection that is yet to move: the punched path is its.)
  if (rec && rec->path)
    rec = st.conns->find(*rec->path);
  if (rec) {
    // The application heard new_peer already; now how it went.
    auto took = i->second.connected_at.value_or(
                  std::chrono::steady_clock::now())
                - i->second.started;
    self_->send(st.handler,
                punched{i->second.peer, rec->info.proto, round,
                        static_cast<uint32_t>(
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                            took)
                            .count())});
  }
  end(i, connected ? std::string{}
                   : reasons.empty() ? std::string{"no reason given"}
                                     : reasons);
}


void punch_part::fail(const peer_id& peer, const std::string& why) {
  self_->send(self_->state.handler,
              connection_failed{target_text(peer), why});
}

// A peer learned from a kept peer's sample did not answer our dial (it is
// behind a NAT now, or its address is stale): the peer that named it may
// still keep it, and is asked to introduce us, once. The application did
// not ask for this one, so it hears only of a success (new_peer, origin
// punched).
void punch_part::introduce_after_failed_dial(const endpoint& target) {
  auto& st = self_->state;
  if (!target.pinned)
    return;
  auto peer = *target.pinned;
  auto i = std::find_if(learned_.begin(), learned_.end(),
                        [&](auto& x) { return x.first == peer; });
  if (i == learned_.end())
    return;
  auto teller = i->second;
  learned_.erase(i);
  if (st.stopping || st.conns->live(peer) || attempts_.size() >= max_attempts
      || st.listen->bound_port() == 0)
    return;
  for (auto& [id, rec] : attempts_)
    if (rec.peer == peer)
      return;
  auto kept = st.conns->kept_peers();
  auto via = std::find_if(kept.begin(), kept.end(),
                          [&](auto& x) { return x.first == teller; });
  if (via == kept.end())
    return;
  attempt_id id;
  probe_key key;
  randombytes_buf(id.data(), id.size());
  randombytes_buf(key.data(), key.size());
  spawn_attempt(true, id, key, peer, {via->second}, std::nullopt);
  attempts_[id].ours = false; // not asked for: failure stays quiet
}

void punch_part::on(const service_event& ev) {
  if (auto learned = std::get_if<events::peers_learned>(&ev)) {
    for (auto& ep : learned->to_dial) {
      if (!ep.pinned)
        continue;
      auto known = std::find_if(learned_.begin(), learned_.end(),
                                [&](auto& x) { return x.first == *ep.pinned; });
      if (known != learned_.end())
        learned_.erase(known);
      if (learned_.size() >= max_learned)
        learned_.erase(learned_.begin());
      learned_.emplace_back(*ep.pinned, learned->from);
    }
    return;
  }
  if (auto failed = std::get_if<events::dial_failed>(&ev))
    return introduce_after_failed_dial(failed->target);
  on_upgrade_event(ev);
  if (auto gone = std::get_if<events::lost>(&ev)) {
    if (gone->end.dial_failed && gone->end.target)
      introduce_after_failed_dial(*gone->end.target);
    return;
  }
  // The attempts to that peer hear it is connected (a new peer, or a
  // relayed one's direct path).
  std::optional<std::pair<conn_id, peer_id>> up;
  if (auto a = std::get_if<events::announced>(&ev))
    up.emplace(a->c, a->peer);
  else if (auto p = std::get_if<events::path_up>(&ev))
    up.emplace(p->c, p->peer);
  if (!up)
    return;
  auto rec = self_->state.conns->find(up->first);
  // A circuit asked for alongside is no punched path: the punch goes on.
  if (rec && rec->info.proto == transport::relay)
    return;
  bool udp = rec && rec->info.proto == transport::rudp;
  for (auto& [id, a] : attempts_)
    if (a.peer == up->second) {
      if (!a.connected_at) // (the attempt may hear it late: birthday's
                           // fan keeps it busy to the end of its round)
        a.connected_at = std::chrono::steady_clock::now();
      self_->send(a.actor, punch_path_atom::value, udp);
    }
}

// The attempt validated a UDP path and we start its handshake (the side
// with the smaller peer id does): a rudp dial pinned to the peer.
void punch_part::on_udp_path(const attempt_id& id, const std::string& ip,
                             uint16_t port) {
  auto& st = self_->state;
  auto i = attempts_.find(id);
  if (i == attempts_.end() || st.stopping || !may_punch(i->second.peer))
    return;
  auto actor = i->second.actor;
  auto self = self_;
  st.listen->dial_rudp(endpoint{transport::rudp, ip, port, i->second.peer},
                       origin::punched, [self, actor](const std::string&) {
                         self->send(actor, punch_path_failed_atom::value,
                                    true);
                       });
}

bool punch_part::on_down(const caf::down_msg& dm) {
  for (auto i = attempts_.begin(); i != attempts_.end(); ++i) {
    if (i->second.actor.address() != dm.source)
      continue;
    end(i, dm.reason ? self_->system().render(dm.reason) : std::string{});
    return true;
  }
  return false;
}

caf::message_handler punch_part::handlers() {
  auto self = self_;
  return {
    // from ourselves: an attempt the application waits on had its head
    // start; a relay goes alongside
    [this](relay_early_atom, const std::vector<uint8_t>& attempt) {
      on_relay_early(attempt);
    },
    // from ourselves: relayed peers' tries are due
    [this](upgrade_atom) {
      upgrades_armed_.reset();
      run_upgrades();
    },
    // from the application
    [this](const crust::connect_peer& cmd) { connect_peer(cmd); },
    [this](crust::prepare_connection_info) { return prepare(); },
    [this](const crust::connect_with& cmd) { connect_with(cmd); },
    // from connections: a kept peer asks us to pass a signal on
    [this, self](forward_atom, const peer_id& to,
                 std::vector<uint8_t>& payload) {
      if (auto c = speaker_conn(self))
        introduce(*c, to, payload);
    },
    // from connections: a signal a kept peer passed on to us
    [this, self](forwarded_atom, const peer_id& from,
                 const std::vector<uint8_t>& payload) {
      if (auto c = speaker_conn(self))
        on_signal(*c, from, payload);
    },
    // from connections: our FORWARD was not passed on
    [this, self](forward_failed_atom, const peer_id&, uint8_t,
                 const std::vector<uint8_t>& context) {
      if (auto c = speaker_conn(self))
        on_forward_failed(*c, context);
    },
    // from connections: an accepted one joined an attempt (PUNCH_HELLO)
    [this, self](punched_atom, const std::vector<uint8_t>&) {
      if (auto c = speaker_conn(self))
        self->state.conns->mark_punched(*c);
    },
    // from attempts: a signal to forward
    [this, self](punch_out_atom, const peer_id& to,
                 std::vector<uint8_t>& bytes) {
      auto id = attempt_of(bytes);
      if (!id)
        return;
      auto i = attempts_.find(*id);
      if (i == attempts_.end() || i->second.actor.address()
                                    != caf::actor_cast<caf::actor_addr>(
                                      self->current_sender()))
        return;
      for (auto c : i->second.vias)
        if (auto hdl = self->state.actors.find(c))
          self->send(*hdl, forward_atom::value, to, bytes);
    },
    // from attempts' punchers: a punched socket
    [this](punch_fd_atom, caf::io::network::native_socket fd,
           const std::string& ip, uint16_t port,
           const std::vector<uint8_t>& attempt) {
      on_punched_socket(fd, ip, port, attempt);
    },
    // from attempts: a validated UDP path to start the handshake on
    [this, self](punch_udp_atom, const std::vector<uint8_t>& attempt,
                 const std::string& ip, uint16_t port) {
      auto id = attempt_from(attempt);
      if (!id)
        return;
      auto i = attempts_.find(*id);
      if (i != attempts_.end()
          && i->second.actor.address()
               == caf::actor_cast<caf::actor_addr>(self->current_sender()))
        on_udp_path(*id, ip, port);
    },
    // from attempts' birthday sockets: the one the peer's spray found
    [this, self](punch_udp_fd_atom, int fd, const std::string& ip,
                 uint16_t port, const std::vector<uint8_t>& attempt) {
      auto id = attempt_from(attempt);
      auto i = id ? attempts_.find(*id) : attempts_.end();
      auto& st = self->state;
      // (A relayed peer's birthday socket becomes its direct path.)
      if (i == attempts_.end() || st.stopping || !may_punch(i->second.peer)) {
        caf::io::network::close_socket(fd);
        return;
      }
      auto actor = i->second.actor;
      auto& peer = i->second.peer;
      st.listen->adopt_rudp(fd, endpoint{transport::rudp, ip, port, peer},
                            st.id < peer, [self, actor](const std::string&) {
                              self->send(actor, punch_path_failed_atom::value,
                                         true);
                            });
    },
    // from attempts: the end
    [this](punch_done_atom, const std::vector<uint8_t>& attempt,
           bool connected, uint8_t round, const std::string& reasons) {
      on_done(attempt, connected, round, reasons);
    },
  };
}

} // namespace crust
