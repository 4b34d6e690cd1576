#include "nat/nat_probe.hpp"

#include <algorithm>


#include "crust/errors.hpp"

namespace crust::stun {

namespace {

bool same(const ip_endpoint& a, const ip_endpoint& b) {
  return a.ip == b.ip && a.port == b.port;
}

} // namespace

nat_probe::nat_probe(std::vector<ip_endpoint> servers, clock::duration rto,
                     int sends)
  : servers_(std::move(servers)), rto_(rto), sends_(sends) {
  for (size_t i = 0; i < servers_.size(); ++i)
    add(kind::primary, i, servers_[i], 0);
}

void nat_probe::add(kind what, size_t server, ip_endpoint to,
                    uint8_t change) {
  request r{what, server, std::move(to), new_transaction_id(),
            retransmission{rto_, sends_}};
  r.bytes = binding_request(r.id, change);
  requests_.push_back(std::move(r));
}

std::vector<nat_probe::datagram> nat_probe::poll(clock::time_point now,
                                                 clock::time_point& deadline) {
  std::vector<datagram> out;
  deadline = now + std::chrono::hours(1);
  for (auto& r : requests_) {
    if (r.answered || r.gave_up)
      continue;
    clock::time_point next;
    switch (r.rtx.poll(now, next)) {
      case retransmission::step::send:
        if (r.first_sent == clock::time_point{})
          r.first_sent = now;
        out.push_back(datagram{r.bytes, r.to});
        [[fallthrough]];
      case retransmission::step::wait:
        deadline = std::min(deadline, next);
        break;
      case retransmission::step::give_up:
        r.gave_up = true;
        r.error = "no answer";
        break;
    }
  }
  // The second observer waits for the filtering tests (its own binding
  // would let their answers in). Released after they ended, in this call
  // (gave up) or before it (answered): the caller polls again at once.
  if (second_observer_) {
    auto finished = [](const request* r) { return r->answered || r->gave_up; };
    if (finished(find(kind::change_ip_port))
        && finished(find(kind::change_port))) {
      auto [server, to] = *second_observer_;
      second_observer_.reset();
      add(kind::second_observer, server, to, 0);
      deadline = now;
    }
  }
  return out;
}

void nat_probe::on_datagram(const uint8_t* data, size_t size,
                            const ip_endpoint& from,
                            clock::time_point now) {
  auto id = response_id(data, size);
  auto i = std::find_if(requests_.begin(), requests_.end(),
                        [&](const request& r) { return id && r.id == *id; });
  if (i == requests_.end() || i->answered || i->gave_up) {
    ++ignored_;
    return;
  }
  auto answer = parse_binding_response(data, size, i->id);
  if (!answer) {
    // An error response ends the request; garbage with a matching id
    // does not (an attacker guessing ids must not end our probe).
    auto why = error_detail(answer.error()).value_or("");
    ++ignored_;
    if (why.rfind("STUN: error response", 0) == 0) {
      i->gave_up = true;
      i->error = why.substr(6);
    }
    return;
  }
  on_answer(*i, std::move(*answer), from, now);
}

void nat_probe::on_answer(request& r, binding_response answer,
                          const ip_endpoint& from, clock::time_point now) {
  r.answered = true;
  // Only an answer from where we asked the server to answer from tests
  // our NAT's filtering; from the old address it passes any NAT.
  if (r.what == kind::change_ip_port)
    r.unchanged = from.ip == r.to.ip || from.port == r.to.port;
  else if (r.what == kind::change_port)
    r.unchanged = from.ip != r.to.ip || from.port == r.to.port;
  r.rtt = std::chrono::duration_cast<std::chrono::milliseconds>(now
                                                                - r.first_sent);
  auto other = answer.other;
  r.answer = std::move(answer);
  // RFC 5780's tests need a server that has a second address; the first
  // one found runs them (copies: add() may move the vector).
  if (r.what != kind::primary || rfc5780_started_ || !other || other->v6())
    return;
  rfc5780_started_ = true;
  auto server = r.server;
  auto to = r.to;
  second_observer_.emplace(server, ip_endpoint{other->ip, other->port});
  add(kind::change_ip_port, server, to, change_ip | change_port);
  add(kind::change_port, server, to, change_port);
}

bool nat_probe::done() const {
  return !second_observer_ && std::all_of(requests_.begin(), requests_.end(),
                     [](const request& r) { return r.answered || r.gave_up; });
}

const nat_probe::request* nat_probe::find(kind what) const {
  for (auto& r : requests_)
    if (r.what == what)
      return &r;
  return nullptr;
}

nat_report nat_probe::report(const std::vector<ip_endpoint>& local) const {
  nat_report rep;
  rep.ignored = ignored_;
  std::vector<ip_endpoint> seen; // by different destinations
  for (auto& r : requests_) {
    if (r.what == kind::primary) {
      server_result s{r.to, std::nullopt, r.rtt, r.error};
      if (r.answer) {
        s.mapped = static_cast<const ip_endpoint&>(*r.answer);
        if (!rep.external)
          rep.external = s.mapped;
      } else if (s.error.empty()) {
        s.error = "no answer yet";
      }
      rep.servers.push_back(std::move(s));
    }
    if ((r.what == kind::primary || r.what == kind::second_observer)
        && r.answer)
      seen.push_back(*r.answer);
  }
  if (servers_.empty())
    return rep;
  if (!rep.external) {
    rep.nat_type = "udp-blocked";
    return rep;
  }
  auto& ext = *rep.external;
  bool local_match = std::any_of(local.begin(), local.end(),
                                 [&](const ip_endpoint& l) {
                                   return l.ip == ext.ip && l.port == ext.port;
                                 });
  if (local_match)
    rep.mapping = "none";
  else if (seen.size() >= 2)
    rep.mapping = std::all_of(seen.begin(), seen.end(),
                              [&](const ip_endpoint& m) {
                                return same(m, ext);
                              })
                    ? "endpoint-independent"
                    : "endpoint-dependent";
  auto both = find(kind::change_ip_port);
  auto port = find(kind::change_port);
  if ((both && both->unchanged) || (port && port->unchanged))
    ; // the server does not honour CHANGE-REQUEST: filtering unknown
  else if (both && both->answered)
    rep.filtering = "endpoint-independent";
  else if (port && port->answered && both && both->gave_up)
    rep.filtering = "address-dependent";
  else if (both && both->gave_up && port && port->gave_up)
    rep.filtering = "address-and-port-dependent";
  if (rep.mapping == "none")
    rep.nat_type = "open";
  else if (rep.mapping == "endpoint-dependent")
    rep.nat_type = "symmetric";
  else if (rep.mapping == "endpoint-independent")
    rep.nat_type = rep.filtering == "endpoint-independent" ? "full-cone"
                   : rep.filtering == "address-dependent"  ? "restricted-cone"
                   : rep.filtering == "address-and-port-dependent"
                     ? "port-restricted"
                     : "cone";
  return rep;
}

} // namespace crust::stun
