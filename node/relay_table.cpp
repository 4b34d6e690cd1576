#include "node/relay_table.hpp"

#include <algorithm>

namespace crust {

namespace {

// Rates remembered at most (one per peer that opened a circuit; only kept
// peers can, so the connection limit bounds it first).
constexpr size_t max_rates = 4096;

// The smallest part of held bytes that moves while a bucket is short.
constexpr size_t move_quantum = 4096;

double per_second(std::chrono::milliseconds interval) {
  return interval.count() > 0 ? 1000.0 / double(interval.count()) : 1e9;
}

} // namespace

uint32_t relay_table::per_peer(const peer_id& p) const {
  uint32_t n = 0;
  for (auto& [k, c] : circuits_)
    if (c.peer_a == p || c.peer_b == p)
      ++n;
  return n;
}

bool relay_table::open(circuit_end asker, const peer_id& from, conn_id target,
                       const peer_id& to, time_point now) {
  auto refuse = [&](circuit_reason why) {
    out_.emplace_back(closed{asker, why});
    return false;
  };
  if (by_end_.count(asker) || asker.id >= relay_ids)
    return refuse(circuit_reason::duplicate);
  // The rate first: a peer asking in a loop is slowed whatever it asks.
  auto r = rates_.find(from);
  if (r == rates_.end()) {
    if (rates_.size() >= max_rates)
      rates_.erase(rates_.begin());
    r = rates_
          .emplace(from, peer_rate{token_bucket{per_second(
                                                  limits_.open_interval),
                                                double(limits_.open_burst),
                                                now},
                                   0})
          .first;
  }
  if (!r->second.opens.take(1, now)) {
    ++r->second.refusals;
    return refuse(circuit_reason::rate_limited);
  }
  if (target == 0 || to == from)
    return refuse(circuit_reason::not_connected);
  if (circuits_.size() >= limits_.max_circuits)
    return refuse(circuit_reason::too_many_circuits);
  if (per_peer(from) >= limits_.max_circuits_per_peer
      || per_peer(to) >= limits_.max_circuits_per_peer)
    return refuse(circuit_reason::too_many_for_peer);
  r->second.refusals = 0;
  // The target's end: an id the relay picks on its connection.
  auto& next = next_id_[target];
  circuit_end b{target, 0};
  do {
    b.id = relay_ids | (++next & ~relay_ids);
  } while (by_end_.count(b));
  if (!total_)
    total_.emplace(double(limits_.total_bytes_per_sec),
                   double(limits_.total_bytes_per_sec), now);
  auto key = next_++;
  auto rate = double(limits_.circuit_bytes_per_sec);
  circuit c{asker, b, from, to, {}, {}, token_bucket{rate, rate, now}, now};
  c.to_b.granted = limits_.window;
  c.to_a.granted = limits_.window;
  circuits_.emplace(key, std::move(c));
  by_end_[asker] = key;
  by_end_[b] = key;
  out_.emplace_back(opened{asker, limits_, limits_.window});
  out_.emplace_back(incoming{b, from, limits_, limits_.window});
  return true;
}

relay_table::circuit* relay_table::find(circuit_end e, bool& is_a) {
  auto k = by_end_.find(e);
  if (k == by_end_.end())
    return nullptr;
  auto& c = circuits_.at(k->second);
  is_a = c.a == e;
  return &c;
}

bool relay_table::handle_data(circuit_end from, std::vector<uint8_t> bytes,
                              time_point now) {
  bool is_a = false;
  auto c = find(from, is_a);
  if (!c || bytes.empty())
    return true; // closed meanwhile: its last bytes are dropped
  auto& d = is_a ? c->to_b : c->to_a;
  if (bytes.size() > d.granted) {
    auto i = circuits_.find(by_end_.at(from));
    close_one(i, from, circuit_reason::over_credit);
    return false;
  }
  d.granted -= static_cast<uint32_t>(bytes.size());
  d.queued += bytes.size();
  d.queue.push_back(std::move(bytes));
  c->last_activity = now;
  move(*c, now);
  return true;
}

void relay_table::handle_credit(circuit_end from, uint32_t bytes,
                                time_point now) {
  bool is_a = false;
  auto c = find(from, is_a);
  if (!c)
    return;
  // Credit from the end that receives in that direction.
  auto& d = is_a ? c->to_a : c->to_b;
  d.receiver_credit = std::min<uint64_t>(d.receiver_credit + bytes,
                                         uint64_t{1} << 32);
  move(*c, now);
}

void relay_table::handle_close(circuit_end from) {
  auto k = by_end_.find(from);
  if (k == by_end_.end())
    return;
  auto i = circuits_.find(k->second);
  // The closer needs no word back.
  auto& c = i->second;
  auto other = c.a == from ? c.b : c.a;
  out_.emplace_back(closed{other, circuit_reason::closed_by_peer});
  by_end_.erase(c.a);
  by_end_.erase(c.b);
  circuits_.erase(i);
}

void relay_table::close_one(circuit_map::iterator i, const circuit_end& from,
                            circuit_reason why) {
  // The end at fault hears why; the other that the circuit is over.
  auto& c = i->second;
  bool a_at_fault = c.a == from;
  close(i, a_at_fault ? why : circuit_reason::closed_by_peer,
        a_at_fault ? circuit_reason::closed_by_peer : why);
}

void relay_table::close(circuit_map::iterator i, circuit_reason why_a,
                        circuit_reason why_b) {
  auto& c = i->second;
  out_.emplace_back(closed{c.a, why_a});
  out_.emplace_back(closed{c.b, why_b});
  by_end_.erase(c.a);
  by_end_.erase(c.b);
  circuits_.erase(i);
}

void relay_table::handle_conn_lost(conn_id conn) {
  for (auto i = circuits_.begin(); i != circuits_.end();) {
    auto& c = i->second;
    if (c.a.conn != conn && c.b.conn != conn) {
      ++i;
      continue;
    }
    // Only the end still there hears of it.
    auto survivor = c.a.conn == conn ? c.b : c.a;
    if (survivor.conn != conn)
      out_.emplace_back(closed{survivor, circuit_reason::end_lost});
    by_end_.erase(c.a);
    by_end_.erase(c.b);
    i = circuits_.erase(i);
  }
  next_id_.erase(conn);
}

void relay_table::stop() {
  while (!circuits_.empty())
    close(circuits_.begin(), circuit_reason::relay_stopping,
          circuit_reason::relay_stopping);
}

// More credit for the sender once half the window is free again: fewer,
// larger grants (each is a frame on the sender's link).
void relay_table::grant(direction& d, const circuit_end& sender) {
  auto room = limits_.window - std::min<size_t>(limits_.window,
                                                d.queued + d.granted);
  if (room == 0 || room < limits_.window / 2)
    return;
  d.granted += static_cast<uint32_t>(room);
  out_.emplace_back(credit{sender, static_cast<uint32_t>(room)});
}

void relay_table::move_dir(circuit& c, direction& d, const circuit_end& to,
                           const circuit_end& sender, time_point now) {
  while (!d.queue.empty() && d.receiver_credit > 0) {
    auto& front = d.queue.front();
    // As much of the first chunk as the receiver allows and both buckets
    // pay for.
    size_t n = std::min<size_t>(front.size(), d.receiver_credit);
    auto tokens = std::min(c.bucket.available(now), total_->available(now));
    // Bytes move in parts of at least `quantum` (or what is left), so a
    // throttled circuit sends a few frames per second, not one per token.
    auto quantum = double(std::min<size_t>(n, move_quantum));
    if (tokens < quantum) {
      auto at = now + std::max(c.bucket.wait_for(quantum, now),
                               total_->wait_for(quantum, now));
      if (!waiting_until_ || at < *waiting_until_)
        waiting_until_ = at;
      break;
    }
    n = std::min<size_t>(n, static_cast<size_t>(tokens));
    c.bucket.charge(double(n), now);
    total_->charge(double(n), now);
    std::vector<uint8_t> part;
    if (n == front.size()) {
      part = std::move(front);
      d.queue.pop_front();
    } else {
      part.assign(front.begin(), front.begin() + static_cast<ptrdiff_t>(n));
      front.erase(front.begin(), front.begin() + static_cast<ptrdiff_t>(n));
    }
    d.queued -= n;
    d.receiver_credit -= n;
    out_.emplace_back(data{to, std::move(part)});
  }
  grant(d, sender);
}

void relay_table::move(circuit& c, time_point now) {
  move_dir(c, c.to_b, c.b, c.a, now);
  move_dir(c, c.to_a, c.a, c.b, now);
}

void relay_table::handle_timeout(time_point now) {
  waiting_until_.reset();
  for (auto i = circuits_.begin(); i != circuits_.end();) {
    auto& c = i->second;
    if (now - c.last_activity >= limits_.idle_timeout) {
      auto next = std::next(i);
      close(i, circuit_reason::idle, circuit_reason::idle);
      i = next;
      continue;
    }
    move(c, now);
    ++i;
  }
}

std::optional<relay_table::output> relay_table::poll_output() {
  if (out_.empty())
    return std::nullopt;
  auto x = std::move(out_.front());
  out_.pop_front();
  return x;
}

std::optional<relay_table::time_point> relay_table::poll_timeout() const {
  std::optional<time_point> t = waiting_until_;
  for (auto& [k, c] : circuits_) {
    auto idle_at = c.last_activity + limits_.idle_timeout;
    if (!t || idle_at < *t)
      t = idle_at;
  }
  return t;
}

size_t relay_table::held() const {
  size_t n = 0;
  for (auto& [k, c] : circuits_)
    n += c.to_a.queued + c.to_b.queued;
  return n;
}

uint32_t relay_table::rate_refusals(const peer_id& p) const {
  auto r = rates_.find(p);
  return r == rates_.end() ? 0 : r->second.refusals;
}

} // namespace crust
