#include "transports/datagram/stun_queries.hpp"

namespace crust::datagram {

bool is_stun(const uint8_t* data, size_t size) {
  return size > 0 && data[0] < 4;
}

uint32_t stun_queries::ask(const ip_endpoint& server, time_point now) {
  if (open_.size() >= max_open)
    return 0;
  question q;
  q.query = next_++;
  if (next_ == 0)
    next_ = 1;
  q.server = server;
  q.id = stun::new_transaction_id();
  q.bytes = stun::binding_request(q.id);
  auto query = q.query;
  auto& at = open_.emplace(q.id, std::move(q)).first->second;
  bool done = false;
  step(at, now, done); // the first send
  return query;
}

void stun_queries::step(question& q, time_point now, bool& done) {
  time_point deadline;
  switch (q.schedule.poll(now, deadline)) {
    case stun::retransmission::step::send:
      out_.push_back({q.server, q.bytes});
      return;
    case stun::retransmission::step::wait:
      return;
    case stun::retransmission::step::give_up: {
      std::string why = "no answer from " + to_string(q.server);
      if (q.ignored > 0)
        why += " (" + std::to_string(q.ignored) + " ignored)";
      answers_.push_back(answer{q.query, std::nullopt, std::move(why)});
      done = true;
      return;
    }
  }
}

bool stun_queries::receive(const ip_endpoint& from, const uint8_t* data,
                           size_t size) {
  auto id = stun::response_id(data, size);
  if (!id)
    return false;
  auto i = open_.find(*id);
  // Only the server we asked answers (a guessed id from elsewhere is
  // dropped like any stranger's datagram).
  if (i == open_.end() || !(i->second.server == from))
    return false;
  auto r = stun::parse_binding_response(data, size, *id);
  if (!r) {
    ++i->second.ignored;
    return false;
  }
  answers_.push_back(
    answer{i->second.query, ip_endpoint{r->ip, r->port}, std::string{}});
  open_.erase(i);
  return true;
}

void stun_queries::tick(time_point now) {
  for (auto i = open_.begin(); i != open_.end();) {
    bool done = false;
    step(i->second, now, done);
    i = done ? open_.erase(i) : std::next(i);
  }
}

} // namespace crust::datagram
