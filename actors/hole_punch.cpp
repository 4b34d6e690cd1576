#include "actors/hole_punch.hpp"

#include <caf/all.hpp>
#include <caf/io/network/native_socket.hpp>

#include "actors/blocking.hpp"
#include "actors/timer.hpp"
#include "transports/bytes.hpp"
#include "transports/datagram/probe.hpp"
#include "transports/io/tcp_socket.hpp"
#include "transports/io/udp_fan.hpp"

#include <sodium.h>

namespace crust {

namespace {

using self_ptr = caf::stateful_actor<hole_punch_state>*;

// Its messages to itself and its puncher's.
using punch_tick_atom = caf::atom_constant<caf::atom("punch_tick")>;
using tcp_punch_atom = caf::atom_constant<caf::atom("tcp_punch")>;

// One round's TCP punch, on a thread of its own. A connected socket goes
// straight to the service, which outlives the attempt: a socket that
// connects after the attempt ended is closed there, and one the service
// never takes (it stopped meanwhile) is closed here.
caf::behavior tcp_puncher(caf::event_based_actor* self, ip_endpoint local,
                          std::vector<ip_endpoint> targets,
                          caf::timespan limit, caf::actor service,
                          std::vector<uint8_t> attempt) {
  self->send(self, tcp_punch_atom::value);
  return {
    [=](tcp_punch_atom) {
      auto r = tcp_punch(local, targets, limit);
      if (r.fd < 0)
        return self->quit();
      auto fd = static_cast<caf::io::network::native_socket>(r.fd);
      self
        ->request(service, std::chrono::seconds(10), punch_fd_atom::value, fd,
                  r.to.ip, r.to.port, attempt)
        .then([=] { self->quit(); },
              [=](caf::error&) {
                caf::io::network::close_socket(fd);
                self->quit();
              });
    },
  };
}

// Birthday mode, the side behind the endpoint-dependent NAT, on a thread
// of its own: many sockets, each probing the peer once (and again every
// 500 ms), until the peer's spray lands on one of their mappings; that
// socket goes to the service (closed here if it is never taken).
caf::behavior birthday_fanner(caf::event_based_actor* self, std::string host,
                              uint16_t count, std::vector<ip_endpoint> targets,
                              caf::timespan limit, caf::actor service,
                              attempt_id attempt, probe_key key, bool offerer) {
  self->send(self, tcp_punch_atom::value);
  return {
    [=](tcp_punch_atom) {
      auto hello = [&](size_t) {
        datagram::probe_nonce nonce;
        randombytes_buf(nonce.data(), nonce.size());
        return datagram::encode_probe(attempt, key, offerer, nonce);
      };
      auto judge = [&](const ip_endpoint& from, const uint8_t* data,
                       size_t size) {
        udp_fan_verdict v;
        auto p = datagram::open_probe(data, size, key);
        if (!p || p->attempt != attempt || p->from_offerer == offerer)
          return v;
        v.take = true;
        if (!p->ack)
          v.answer = datagram::encode_probe_ack(attempt, key, offerer,
                                                p->nonce, from);
        return v;
      };
      auto r = udp_fan_out(
        host, count, targets, hello, std::chrono::milliseconds(500),
        std::chrono::duration_cast<std::chrono::milliseconds>(limit), judge);
      if (r.fd < 0)
        return self->quit();
      auto fd = r.fd;
      self
        ->request(service, std::chrono::seconds(10), punch_udp_fd_atom::value,
                  fd, r.from.ip, r.from.port,
                  bytes::to_vector(attempt))
        .then([=] { self->quit(); },
              [=](caf::error&) {
                caf::io::network::close_socket(fd);
                self->quit();
              });
    },
  };
}

void drain(self_ptr self, const hole_punch_setup& s);

void run_plan(self_ptr self, const hole_punch_setup& s,
              const punch_attempt::plan& plan) {
  if (plan.birthday_sockets > 0 && s.rudp) {
    // Toward where the peer's rudp socket is seen from outside.
    std::vector<ip_endpoint> outside;
    for (auto& c : plan.remote)
      if (c.proto == transport::rudp && c.kind != candidate_kind::host
          && outside.size() < 4)
        outside.push_back(c.at);
    if (!outside.empty())
      spawn_blocking(self->home_system(), birthday_fanner, s.local.ip,
                     plan.birthday_sockets, outside, s.settings.round_time,
                     s.service, s.attempt, self->state.attempt->key(),
                     s.role == punch_attempt::role::offerer);
  }
  std::vector<ip_endpoint> targets;
  for (auto& c : plan.remote)
    if (c.proto == transport::tcp)
      targets.push_back(c.at);
  if (!plan.tcp || targets.empty())
    return; // UDP's probes are polled from the attempt (drain)
  spawn_blocking(self->home_system(), tcp_puncher, s.local, targets,
                 s.settings.round_time, s.service,
                 bytes::to_vector(s.attempt));
}

void arm(self_ptr self) {
  auto& st = self->state;
  auto due = st.attempt->poll_timeout();
  if (!due || (st.armed && *st.armed <= *due))
    return;
  st.armed = due;
  auto now = self->clock().now();
  auto after = *due > now ? caf::timespan{*due - now} : caf::timespan{0};
  set_timer(self, after, punch_tick_atom::value);
}

void drain(self_ptr self, const hole_punch_setup& s) {
  auto& st = self->state;
  auto& a = *st.attempt;
  while (auto sig = a.poll_signal())
    self->send(s.service, punch_out_atom::value, s.peer,
               encode_signal(*s.me, s.peer, s.network, *sig));
  if (auto plan = a.poll_plan())
    run_plan(self, s, *plan);
  auto probes = a.poll_probes(self->clock().now());
  if (!probes.empty() && s.rudp) {
    std::vector<endpoint> to;
    for (auto& p : probes)
      to.push_back(endpoint{transport::rudp, p.ip, p.port, {}});
    self->send(s.rudp, rudp_probe_atom::value, s.udp, bytes::to_vector(s.attempt),
               std::move(to));
  }
  if (auto spray = a.poll_spray(self->clock().now()); spray && s.rudp) {
    // Random ports of the peer's NAT (birthday mode), one probe each.
    std::vector<endpoint> to;
    for (uint16_t i = 0; i < spray->count; ++i)
      to.push_back(endpoint{transport::rudp, spray->ip,
                            static_cast<uint16_t>(
                              1024 + randombytes_uniform(65536 - 1024)),
                            {}});
    self->send(s.rudp, rudp_probe_atom::value, s.udp, bytes::to_vector(s.attempt),
               std::move(to));
  }
  if (auto at = a.poll_udp_dial())
    self->send(s.service, punch_udp_atom::value, bytes::to_vector(s.attempt), at->ip,
               at->port);
  auto ph = a.state();
  if ((ph == punch_attempt::phase::connected
       || ph == punch_attempt::phase::failed)
      && !st.reported) {
    st.reported = true;
    std::string why;
    for (auto& r : a.reasons())
      why += (why.empty() ? "" : "; ") + r;
    self->send(s.service, punch_done_atom::value,
               bytes::to_vector(s.attempt),
               ph == punch_attempt::phase::connected, a.round(), why);
    self->quit();
    return;
  }
  arm(self);
}

} // namespace

caf::behavior hole_punch(caf::stateful_actor<hole_punch_state>* self,
                         hole_punch_setup s) {
  auto& st = self->state;
  auto now = self->clock().now();
  st.attempt.emplace(s.role, s.attempt, s.role == punch_attempt::role::offerer
                                          ? s.key
                                          : s.offer ? s.offer->key : s.key,
                     s.settings, now);
  if (s.offer && !s.signalled)
    st.attempt->handle_signal(*s.offer, now);
  auto key = st.attempt->key();
  s.registry->add(punch_registry::path{s.attempt, key, s.peer});
  self->attach_functor([r = s.registry, id = s.attempt] { r->remove(id); });
  // Our socket answers the attempt's probes from now on (the peer may
  // start before we do); the engine forgets the watch when we stop.
  if (s.rudp && s.udp && (s.ours.caps & cap_udp))
    self
      ->request(s.rudp, std::chrono::seconds(5), rudp_watch_atom::value, s.udp,
                bytes::to_vector(s.attempt), bytes::to_vector(key),
                s.role == punch_attempt::role::offerer)
      .then([](caf::ok_atom) {},
            [](caf::error&) {
              // Too many attempts on the socket: this one goes on over
              // TCP (its probes unanswered, the peer's too).
            });
  if (s.signalled && s.offer)
    st.attempt->start_signalled(s.ours, *s.offer, now);
  else
    st.attempt->start(s.ours, now);
  drain(self, s);
  return {
    [=](punch_in_atom, const std::vector<uint8_t>& bytes) {
      auto sig = decode_signal(s.peer, s.me->id(), s.network, bytes.data(),
                               bytes.size());
      if (!sig)
        return;
      self->state.attempt->handle_signal(*sig, self->clock().now());
      drain(self, s);
    },
    [=](punch_path_atom, bool udp) {
      self->state.attempt->handle_path_authenticated(
        udp ? punch_attempt::path::udp : punch_attempt::path::tcp,
        self->clock().now());
      drain(self, s);
    },
    [=](punch_path_failed_atom, bool udp) {
      self->state.attempt->handle_path_failed(
        udp ? punch_attempt::path::udp : punch_attempt::path::tcp,
        self->clock().now());
      drain(self, s);
    },
    [=](rudp_probed_atom, const std::vector<uint8_t>& a, const std::string& ip,
        uint16_t port) {
      if (a != bytes::to_vector(s.attempt))
        return;
      self->state.attempt->handle_probed(ip_endpoint{ip, port},
                                         self->clock().now());
      drain(self, s);
    },
    [=](rudp_acked_atom, const std::vector<uint8_t>& a, const std::string& ip,
        uint16_t port, const std::string& oip, uint16_t oport) {
      if (a != bytes::to_vector(s.attempt))
        return;
      self->state.attempt->handle_probe_acked(ip_endpoint{ip, port},
                                              ip_endpoint{oip, oport},
                                              self->clock().now());
      drain(self, s);
    },
    [=](punch_cancel_atom, const std::string& why) {
      self->state.attempt->cancel(why);
      drain(self, s);
    },
    [=](punch_tick_atom) {
      auto& st = self->state;
      st.armed.reset();
      st.attempt->handle_timeout(self->clock().now());
      drain(self, s);
    },
  };
}

} // namespace crust
