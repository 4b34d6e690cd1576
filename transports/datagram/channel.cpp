#include "transports/datagram/channel.hpp"

#include <sodium.h>

#include <algorithm>

#include "transports/datagram/session.hpp"

namespace crust {

datagram_channel::datagram_channel(settings s, time_point now)
  : cfg_(std::move(s)), cookies_(now) {
  // nop
}

datagram_channel::~datagram_channel() {
  for (auto& kv : sessions_)
    kv.second->close();
}

uint32_t datagram_channel::fresh_index() {
  for (;;) {
    auto i = randombytes_random();
    if (i != 0 && sessions_.count(i) == 0)
      return i;
  }
}

void datagram_channel::send_raw(const ip_endpoint& to,
                                std::vector<uint8_t> bytes) {
  out_.push_back({to, std::move(bytes)});
}

uint32_t datagram_channel::dial(const ip_endpoint& to,
                                std::optional<peer_id> expected,
                                bool bootstrapping, time_point now) {
  if (sessions_.size() >= cfg_.max_sessions)
    return 0;
  auto i = fresh_index();
  auto s = std::make_unique<datagram_session>(*this, i, to, false, now);
  s->start(expected, bootstrapping, now);
  if (s->broken())
    return 0;
  sessions_.emplace(i, std::move(s));
  return i;
}

void datagram_channel::receive(const ip_endpoint& from, const uint8_t* data,
                               size_t size, time_point now) {
  if (datagram::is_probe(data, size)) {
    on_probe(from, data, size);
    return;
  }
  if (datagram::is_stun(data, size)) {
    if (!stun_.receive(from, data, size))
      ++stats_.stun_ignored;
    drain_stun();
    return;
  }
  auto p = datagram::parse(data, size);
  if (!p) {
    ++stats_.garbage;
    return;
  }
  if (p->what == datagram::kind::init) {
    on_init(from, *p, now);
    return;
  }
  auto i = sessions_.find(p->receiver);
  if (i == sessions_.end()) {
    ++stats_.unknown;
    return;
  }
  auto& s = *i->second;
  // Handshake packets count only from the address the session talks to;
  // DATA proves itself by its tag (and may come from a new address).
  bool same = from == s.info().remote;
  switch (p->what) {
    case datagram::kind::cookie:
      if (same && !s.info().inbound)
        s.on_cookie(*p->cookie, now);
      break;
    case datagram::kind::response:
      if (same && !s.info().inbound)
        s.on_response(*p, now);
      break;
    case datagram::kind::final:
      if (same && s.info().inbound) {
        auto was = s.current();
        s.on_final(*p, now);
        if (was == datagram_session::state::responding
            && s.current() != was)
          --half_open_;
      }
      break;
    case datagram::kind::data:
      s.on_data(from, data, *p, now);
      break;
    case datagram::kind::init:
      break;
  }
  if (s.broken())
    kill(p->receiver, s.why(), s.kind());
}

void datagram_channel::on_init(const ip_endpoint& from,
                               const datagram::packet& p, time_point now) {
  auto src = to_string(from);
  auto known = by_init_.find({src, p.sender});
  if (known != by_init_.end()) {
    auto s = sessions_.find(known->second);
    if (s != sessions_.end())
      s->second->repeat_response(now);
    return;
  }
  if (half_open_ >= cfg_.cookie_threshold
      && (!p.cookie || !cookies_.valid(src, *p.cookie, now))) {
    // Under load: state and a handshake only for sources that prove they
    // receive at their address.
    send_raw(from, datagram::encode_cookie(p.sender, cookies_.make(src, now)));
    ++stats_.cookies_sent;
    return;
  }
  if (half_open_ >= cfg_.max_half_open
      || sessions_.size() >= cfg_.max_sessions) {
    ++stats_.refused;
    return;
  }
  auto i = fresh_index();
  auto s = std::make_unique<datagram_session>(*this, i, from, true, now);
  if (!s->on_init(p, now)) {
    ++stats_.refused;
    return;
  }
  for (auto& [a, w] : watched_)
    if (std::find(w.sources.begin(), w.sources.end(), from) != w.sources.end())
      s->mark_punched();
  if (cfg_.punched)
    s->mark_punched();
  sessions_.emplace(i, std::move(s));
  by_init_.emplace(std::make_pair(src, p.sender), i);
  ++half_open_;
}

bool datagram_channel::send(uint32_t session, uint16_t stream,
                            const uint8_t* data, size_t size) {
  auto i = sessions_.find(session);
  return i != sessions_.end() && i->second->send(stream, data, size);
}

void datagram_channel::pause(uint32_t session, bool on) {
  auto i = sessions_.find(session);
  if (i != sessions_.end())
    i->second->pause(on);
}

void datagram_channel::close(uint32_t session) {
  auto i = sessions_.find(session);
  if (i == sessions_.end())
    return;
  auto& s = *i->second;
  if (s.current() == datagram_session::state::responding)
    --half_open_;
  s.close();
  by_init_.erase({to_string(s.info().remote), s.remote_index()});
  sessions_.erase(i);
}

// Removes a failed session. The caller hears of it only when it knew of
// it (sessions it dialled, and answered ones that came up) or when a peer
// that proved who it is misbehaved before its association came up (a
// flood of DATA that needs no SCTP). A stranger's failed handshake is
// only counted.
void datagram_channel::kill(uint32_t session, std::string reason,
                            std::optional<misbehaviour> kind) {
  auto i = sessions_.find(session);
  if (i == sessions_.end())
    return;
  auto& s = *i->second;
  auto state = s.current();
  bool keyed = state == datagram_session::state::linking
               || state == datagram_session::state::up;
  bool known = !s.info().inbound || state == datagram_session::state::up
               || (keyed && kind);
  if (!known)
    ++stats_.refused;
  auto ev = event::make(event::down, session);
  ev.remote = s.info().remote;
  if (keyed)
    ev.peer = s.info().peer.id;
  close(session);
  if (known) {
    ev.reason = std::move(reason);
    ev.kind = kind;
    events_.push_back(std::move(ev));
  }
}

// -- hole punching -------------------------------------------------------------

namespace {

// Sources remembered per attempt (of probes, and of acks).
constexpr size_t max_sources = 32;

// Adds `x` to a bounded list of addresses, once.
void remember(std::vector<ip_endpoint>& xs, const ip_endpoint& x) {
  if (std::find(xs.begin(), xs.end(), x) == xs.end() && xs.size() < max_sources)
    xs.push_back(x);
}

// A probe's nonce names where it went: keyed with the attempt's key over
// the destination, so an ack proves it answers a probe we sent there
// without our keeping a nonce per probe (birthday mode sprays a thousand).
datagram::probe_nonce nonce_for(const probe_key& key, const ip_endpoint& to) {
  auto text = to_string(to);
  auto m = attempt_mac(key, "crust-probe-nonce",
                       reinterpret_cast<const uint8_t*>(text.data()),
                       text.size());
  datagram::probe_nonce n;
  std::copy(m.begin(), m.begin() + n.size(), n.begin());
  return n;
}

} // namespace

bool datagram_channel::watch(const attempt_id& a, const probe_key& key,
                             bool offerer) {
  if (watched_.count(a) == 0 && watched_.size() >= max_watched)
    return false;
  auto& w = watched_[a];
  w.key = key;
  w.offerer = offerer;
  return true;
}

void datagram_channel::unwatch(const attempt_id& a) {
  watched_.erase(a);
}

bool datagram_channel::probe(const attempt_id& a, const ip_endpoint& to) {
  auto i = watched_.find(a);
  if (i == watched_.end() || i->second.probes >= max_probes_per_attempt)
    return false;
  auto& w = i->second;
  auto bytes = datagram::encode_probe(a, w.key, w.offerer,
                                      nonce_for(w.key, to));
  ++w.probes;
  send_raw(to, std::move(bytes));
  return true;
}

// Silence for anything that does not prove the attempt's key, comes from
// ourselves (our own probe reflected back), answers nothing we sent or
// exceeds the attempt's budget.
void datagram_channel::on_probe(const ip_endpoint& from, const uint8_t* data,
                                size_t size) {
  auto id = datagram::probe_attempt(data, size);
  auto i = id ? watched_.find(*id) : watched_.end();
  if (i == watched_.end()) {
    ++stats_.probes_refused;
    return;
  }
  auto& w = i->second;
  auto p = datagram::open_probe(data, size, w.key);
  if (!p || p->from_offerer == w.offerer) {
    ++stats_.probes_refused;
    return;
  }
  if (!p->ack) {
    if (w.acks >= max_acks_per_attempt) {
      ++stats_.probes_refused;
      return;
    }
    auto ack = datagram::encode_probe_ack(*id, w.key, w.offerer, p->nonce,
                                          from);
    if (ack.empty()) {
      ++stats_.probes_refused;
      return;
    }
    ++w.acks;
    send_raw(from, std::move(ack));
    remember(w.sources, from);
    auto ev = event::make(event::probed, 0);
    ev.attempt = *id;
    ev.remote = from;
    events_.push_back(std::move(ev));
    return;
  }
  // It answers a probe we sent to where it comes from, once.
  if (p->nonce != nonce_for(w.key, from)
      || std::find(w.acked.begin(), w.acked.end(), from) != w.acked.end()
      || w.acked.size() >= max_sources) {
    ++stats_.probes_refused;
    return;
  }
  w.acked.push_back(from);
  remember(w.sources, from);
  auto ev = event::make(event::acked, 0);
  ev.attempt = *id;
  ev.remote = from;
  ev.observed = p->observed;
  events_.push_back(std::move(ev));
}

uint32_t datagram_channel::ask_stun(const ip_endpoint& server,
                                    time_point now) {
  auto q = stun_.ask(server, now);
  drain_stun();
  return q;
}

// What the STUN questions want sent goes out with our other datagrams;
// their ends become events.
void datagram_channel::drain_stun() {
  for (auto& r : stun_.out())
    send_raw(r.to, std::move(r.bytes));
  stun_.out().clear();
  for (auto& a : stun_.answers()) {
    auto ev = event::make(event::stun_answered, a.query);
    if (a.mapped)
      ev.observed = *a.mapped;
    ev.reason = std::move(a.error);
    events_.push_back(std::move(ev));
  }
  stun_.answers().clear();
}

void datagram_channel::tick(time_point now) {
  stun_.tick(now);
  drain_stun();
  std::vector<uint32_t> broken;
  for (auto& kv : sessions_) {
    kv.second->tick(now);
    if (kv.second->broken())
      broken.push_back(kv.first);
  }
  for (auto i : broken) {
    auto s = sessions_.find(i);
    if (s != sessions_.end())
      kill(i, s->second->why(), s->second->kind());
  }
}

void datagram_channel::flush(time_point now) {
  for (auto& kv : sessions_)
    kv.second->flush(now);
}

const datagram_channel::session_info*
datagram_channel::info(uint32_t session) const {
  auto i = sessions_.find(session);
  return i == sessions_.end() ? nullptr : &i->second->info();
}

} // namespace crust
