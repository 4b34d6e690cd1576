#include "actors/peer_table.hpp"

namespace crust {

peer_table::outcome peer_table::on_hello(conn_id c, const peer_id& peer,
                                         uint64_t session) {
  outcome result;
  auto i = conns_.find(c);
  if (i == conns_.end())
    return result;
  auto& e = i->second;
  if (e.ph == phase::kept && live(e.peer) == c)
    --kept_; // a HELLO again: no longer kept (the caller ends it)
  e.peer = peer;
  e.session = session;
  e.ph = phase::negotiating;
  if (peer == local_) {
    result.act = action::close_self;
    return result;
  }
  if (!leads(peer))
    return result; // action::wait
  if (auto l = live_.find(peer); l != live_.end()) {
    if (conns_.at(l->second).session == session) {
      result.act = action::close_duplicate;
      return result;
    }
  }
  result.act = action::select;
  result.superseded = make_live(c, e);
  return result;
}

std::optional<conn_id> peer_table::on_selected(conn_id c) {
  auto i = conns_.find(c);
  if (i == conns_.end() || i->second.ph != phase::negotiating)
    return std::nullopt;
  return make_live(c, i->second);
}

std::optional<conn_id> peer_table::make_live(conn_id c, entry& e) {
  std::optional<conn_id> old;
  auto l = live_.find(e.peer);
  if (l != live_.end()) {
    if (conns_.at(l->second).ph == phase::kept)
      --kept_; // superseded (or made undecided again)
    if (l->second != c)
      old = l->second;
  }
  live_[e.peer] = c;
  e.ph = phase::undecided;
  return old;
}

bool peer_table::keep(const peer_id& peer) {
  auto l = live_.find(peer);
  if (l == live_.end())
    return false;
  auto& e = conns_.at(l->second);
  if (e.ph != phase::undecided)
    return e.ph == phase::kept;
  e.ph = phase::kept;
  ++kept_;
  return true;
}

std::optional<peer_id> peer_table::remove(conn_id c) {
  auto i = conns_.find(c);
  if (i == conns_.end())
    return std::nullopt;
  std::optional<peer_id> result;
  auto l = live_.find(i->second.peer);
  if (l != live_.end() && l->second == c) {
    result = l->first;
    if (i->second.ph == phase::kept)
      --kept_;
    live_.erase(l);
  }
  conns_.erase(i);
  return result;
}

std::optional<conn_id> peer_table::live(const peer_id& peer) const {
  auto l = live_.find(peer);
  if (l == live_.end())
    return std::nullopt;
  return l->second;
}

const peer_table::entry* peer_table::find(conn_id c) const {
  auto i = conns_.find(c);
  return i == conns_.end() ? nullptr : &i->second;
}

} // namespace crust
