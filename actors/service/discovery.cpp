// The service's discovery part (discovery_part.hpp): how it learns of peers
// beyond its cache and contacts. Peer exchange answers a kept peer with a
// signed sample of the peers this node reached directly (from the
// bootstrap cache) and learns from a peer's sample: its entries go to the
// cache, and while the node keeps fewer than crust.bootstrap-target peers,
// a bootstrap round dials them (pinned to their ids, so whoever answers
// must prove to be that peer).
#include "actors/service/discovery_part.hpp"
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include <ctime>

#include "actors/atoms.hpp"
#include "actors/blocking.hpp"
#include "actors/beacon.hpp"
#include "actors/bootstrap_cache.hpp"
#include "discovery/peer_exchange.hpp"

namespace crust {

void discovery_part::on_peers_request(conn_id c) {
  auto self = self_;
  auto& st = self->state;
  auto e = st.conns->find(c);
  if (!e || !st.opts.peer_exchange)
    return;
  auto asker = e->peer;
  auto answer = [=](const std::vector<endpoint>& cached) {
    auto& st = self->state;
    std::vector<exchange_entry> sample;
    for (auto& ep : cached)
      if (ep.pinned && *ep.pinned != asker
          && sample.size() < wire::max_exchange_entries
          && (sample.empty() || sample.back().peer != *ep.pinned))
        sample.push_back(exchange_entry{*ep.pinned, ep}); // one endpoint each
    auto body = encode_peers(*st.me, st.opts.network_name,
                             static_cast<uint64_t>(std::time(nullptr)), sample);
    if (auto hdl = st.actors.find(c))
      self->send(*hdl, peers_atom::value, body);
  };
  if (!child(self, child_role::cache))
    return answer({});
  self->request(child(self, child_role::cache), std::chrono::seconds(5), cache_list_atom::value)
    .then(answer, [=](caf::error&) { answer({}); });
}

void discovery_part::on_peers(conn_id c, const std::vector<uint8_t>& body) {
  auto self = self_;
  auto& st = self->state;
  auto e = st.conns->find(c);
  if (!e || !st.opts.peer_exchange)
    return;
  auto sample = decode_peers(e->peer, st.opts.network_name, body.data(),
                             body.size());
  if (!sample)
    return; // unverifiable: ignored, as the protocol says
  std::vector<endpoint> to_dial;
  for (auto& entry : *sample) {
    if (entry.peer == st.id || entry.peer == e->peer
        || st.conns->policy().blocked(entry.peer)
        || st.conns->policy().blocked(entry.at.host))
      continue;
    if (child(self, child_role::cache))
      self->send(child(self, child_role::cache), cache_learned_atom::value, entry.peer, entry.at);
    if (!st.conns->live(entry.peer)) {
      auto ep = entry.at;
      ep.pinned = entry.peer;
      to_dial.push_back(ep);
    }
  }
  // A round only for someone new: an empty sample is no reason to go
  // over the contacts again.
  if (!to_dial.empty())
    fan_out(self, events::peers_learned{std::move(to_dial), e->peer});
}

// A kept peer's ports moved: the cache dials it there from now on (and
// tells others so in its samples). Its word is trusted as far as the
// connection proved its id; entries that do not parse or that the
// blacklist names are left out.
void discovery_part::on_endpoints(conn_id c,
                                  const std::vector<std::string>& texts) {
  auto self = self_;
  auto& st = self->state;
  auto e = st.conns->find(c);
  if (!e || !child(self, child_role::cache))
    return;
  std::vector<endpoint> now_at;
  for (auto& text : texts) {
    auto ep = endpoint::parse(text);
    if (!ep || st.conns->policy().blocked(ep->host))
      continue;
    ep->pinned = caf::none;
    now_at.push_back(std::move(*ep));
  }
  if (!now_at.empty())
    self->send(child(self, child_role::cache), cache_moved_atom::value,
               e->peer, std::move(now_at));
}

void discovery_part::on(const service_event& ev) {
  auto& st = self_->state;
  if (auto up = std::get_if<events::listening_up>(&ev)) {
    start_beacon(up->endpoints);
  } else if (auto k = std::get_if<events::kept>(&ev)) {
    if (st.opts.peer_exchange)
      if (auto hdl = st.actors.find(k->c))
        self_->send(*hdl, exchange_atom::value);
  }
}

void discovery_part::start_beacon(const std::vector<endpoint>& endpoints) {
  auto self = self_;
  auto& st = self->state;
  if (!st.opts.beacon || st.stopping)
    return;
  if (auto& running = child(self, child_role::beacon)) {
    // Our ports moved: it announces where we listen now.
    if (endpoints != beacon_endpoints_) {
      beacon_endpoints_ = endpoints;
      self->send(running, beacon_endpoints_atom::value, endpoints);
    }
    return;
  }
  beacon_setup bs;
  bs.service = caf::actor_cast<caf::actor>(self);
  bs.me = st.me;
  bs.network = st.opts.network_name;
  bs.bind_address = st.opts.listen_address;
  bs.port = st.opts.beacon_port;
  bs.targets = st.opts.beacon_targets;
  bs.endpoints = endpoints;
  beacon_endpoints_ = endpoints;
  adopt(self, child_role::beacon, spawn_blocking(self->home_system(), beacon, std::move(bs)));
}

void discovery_part::on_beacon_found(const peer_id& peer, const endpoint& at) {
  auto self = self_;
  auto& st = self->state;
  if (st.stopping || peer == st.id || st.conns->live(peer)
      || st.conns->policy().blocked(peer) || st.conns->policy().blocked(at.host))
    return;
  // Once per peer and minute: it announces every few seconds.
  auto now = self->clock().now();
  auto& last = beacon_dialled_[peer];
  if (last != caf::actor_clock::time_point{}
      && now - last < std::chrono::minutes(1))
    return;
  last = now;
  if (beacon_dialled_.size() > 1024)
    for (auto i = beacon_dialled_.begin(); i != beacon_dialled_.end();)
      i = now - i->second >= std::chrono::minutes(1)
            ? beacon_dialled_.erase(i)
            : std::next(i);
  connect_to(self, at, origin::beacon);
}

void discovery_part::restart_beacon() {
  start_beacon(beacon_endpoints_);
}

caf::message_handler discovery_part::handlers() {
  auto self = self_;
  return {
    // from the beacon
    [this, self](beacon_found_atom, const peer_id& peer, const endpoint& at) {
      if (self->current_sender() == child(self, child_role::beacon))
        on_beacon_found(peer, at);
    },
    // from connections: a kept peer asks for our sample
    [this, self](peers_request_atom) {
      if (auto c = speaker_conn(self))
        on_peers_request(*c);
    },
    // from connections: a kept peer's ports moved
    [this, self](endpoints_atom, const std::vector<std::string>& texts) {
      if (auto c = speaker_conn(self))
        on_endpoints(*c, texts);
    },
    // from connections: the sample we asked for
    [this, self](peers_atom, const std::vector<uint8_t>& body) {
      if (auto c = speaker_conn(self))
        on_peers(*c, body);
    },
  };
}

} // namespace crust
