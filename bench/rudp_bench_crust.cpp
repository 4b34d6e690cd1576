// crust-bench-rudp: the crust sides, over udp:// (rudp) or tcp://. B
// listens, echoes pings and counts bulk; A dials, ping-pongs, sends bulk.
#include "bench/rudp_bench_shared.hpp"

#include <chrono>
#include <cstring>
#include <limits>
#include <optional>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "bench/bench_service.hpp"
#include "crust/crust.hpp"

namespace rudp_bench {

using bench::ignore_rest;

using namespace std::chrono_literals;

// -- crust ----------------------------------------------------------------------

namespace {

crust::service_options bench_options(const std::string& ip) {
  crust::service_options o;
  o.listen_address = ip;
  o.upnp = false;
  o.beacon = false;
  o.peer_exchange = false;
  o.min_connections = 0;
  auto most = std::numeric_limits<uint32_t>::max();
  o.max_bytes_per_sec = most;
  o.max_bytes_per_sec_per_ip = most;
  o.max_records_per_sec = most;
  o.max_records_per_sec_per_ip = most;
  return o;
}

// Spawns a service on `ip`; its handler is `self`. Returns its port (0 and
// an error in `err` when it fails).
uint16_t start_service(caf::actor_system& sys, caf::scoped_actor& self,
                       const std::string& ip, caf::actor& svc, char* err,
                       const char* role) {
  std::string why;
  auto port = bench::start_service(sys, self, bench_options(ip), svc, why);
  if (port == 0)
    set_error(err, "%s: %s", role, why.c_str());
  return port;
}

} // namespace

// This process's actor system, never destroyed: the process ends with
// _exit() (an actor system's destructor would wait for the service, which
// never stops by itself).
caf::actor_system& process_actor_system() {
  auto& cfg = *new crust::config;
  if (sharing_scheduler)
    cfg.set("scheduler.policy", caf::atom("sharing"));
  return *new caf::actor_system{cfg};
}

// B: keeps whoever connects, echoes small messages, counts big ones.
int crust_server(const std::string& ip, const timing& t) {
  auto& sys = process_actor_system();
  auto& self = *new caf::scoped_actor{sys};
  caf::actor svc;
  auto port = start_service(sys, self, ip, svc, area->b_error, "listener");
  if (port == 0)
    return 1;
  area->b_port = port;
  area->b_ready = 1;
  window_counter wc{t.bulk_warm, t.bulk_window};
  while (!area->abort) {
    bool done = false, lost = false;
    self->receive(
      [&](crust::new_peer& np) { self->send(svc, crust::keep{np.peer}); },
      [&](crust::message& m) {
        if (m.bytes.size() <= 64) {
          self->send(svc, crust::send{m.peer, std::move(m.bytes),
                                      crust::priority::normal});
          return;
        }
        wc.add(now_s(), m.bytes.size());
      },
      [&](crust::peer_lost& pl) {
        set_error(area->b_error, "listener: peer lost: %s", pl.reason.c_str());
        lost = true;
      },
      [&](crust::misbehaving& x) {
        set_error(area->b_error, "listener: misbehaving(%s): %s",
                  crust::to_string(x.kind).c_str(), x.detail.c_str());
      },
      ignore_rest(), caf::after(20ms) >> [] {});
    auto now = now_s();
    done = wc.closed(now);
    // Bulk began and nothing arrived for long: report zero.
    double began = area->bulk_started;
    if (!wc.started() && began != 0
        && now > began + t.bulk_warm + t.bulk_window + 5) {
      set_error(area->b_error, "listener: no bulk message arrived");
      done = true;
    }
    if (done || lost) {
      wc.publish(lost ? now : 0);
      area->b_done = 1;
      area->stop = 1;
      return lost ? 1 : 0;
    }
  }
  return 1;
}

// A: dials B, ping-pongs, then sends bulk until B's window closed.
int crust_client(const std::string& ip, const crust::endpoint& target,
                 const timing& t) {
  auto& sys = process_actor_system();
  auto& self = *new caf::scoped_actor{sys};
  caf::actor svc;
  if (start_service(sys, self, ip, svc, area->a_error, "dialer") == 0) {
    area->a_failed = 1;
    return 1;
  }
  auto t0 = now_s();
  self->send(svc, crust::connect{target});
  std::optional<crust::peer_id> peer;
  bool failed = false;
  while (!peer && !failed && !area->abort)
    self->receive(
      [&](crust::new_peer& np) { peer = np.peer; },
      [&](crust::connection_failed& f) {
        set_error(area->a_error, "dialer: connect %s: %s", f.target.c_str(),
                  f.reason.c_str());
        failed = true;
      },
      [&](crust::misbehaving& x) {
        set_error(area->a_error, "dialer: misbehaving(%s): %s",
                  crust::to_string(x.kind).c_str(), x.detail.c_str());
      },
      ignore_rest(), caf::after(30s) >> [&] {
        set_error(area->a_error, "dialer: connect: no answer in 30 s");
        failed = true;
      });
  if (!peer) {
    area->a_failed = 1;
    return 1;
  }
  self->request(svc, 10s, crust::keep{*peer})
    .receive([](caf::ok_atom) {},
             [&](caf::error& e) {
               set_error(area->a_error, "dialer: keep: %s", sys.render(e).c_str());
               failed = true;
             });
  if (failed) {
    area->a_failed = 1;
    return 1;
  }
  area->connect_s = now_s() - t0;

  // Ping-pong: one 32-byte message in flight; B echoes it.
  std::vector<double> rtts;
  auto deadline = now_s() + t.ping_limit;
  for (uint32_t n = 0; n < uint32_t(t.pings_warm + t.pings) && !failed; ++n) {
    if (n == uint32_t(t.pings_warm))
      deadline = now_s() + t.ping_limit; // the limit counts measured pings
    else if (n > uint32_t(t.pings_warm) && now_s() > deadline)
      break;
    std::vector<uint8_t> ping(ping_size, 0x50);
    std::memcpy(ping.data(), &n, sizeof(n));
    auto sent_at = now_s();
    self->send(svc, crust::send{*peer, std::move(ping), crust::priority::normal});
    bool back = false;
    while (!back && !failed)
      self->receive(
        [&](crust::message& m) {
          uint32_t echo = ~0u;
          if (m.bytes.size() == ping_size)
            std::memcpy(&echo, m.bytes.data(), sizeof(echo));
          if (echo == n) {
            back = true;
            if (n >= uint32_t(t.pings_warm))
              rtts.push_back((now_s() - sent_at) * 1e6);
          }
        },
        [&](caf::error& e) {
          set_error(area->a_error, "dialer: ping send: %s", sys.render(e).c_str());
          failed = true;
        },
        [&](crust::peer_lost& pl) {
          set_error(area->a_error, "dialer: peer lost: %s", pl.reason.c_str());
          failed = true;
        },
        ignore_rest(),
        caf::after(std::chrono::duration_cast<caf::timespan>(
          std::chrono::duration<double>(t.answer_limit))) >> [&] {
          set_error(area->a_error, "dialer: a ping got no answer in %.0f s", t.answer_limit);
          failed = true;
        });
  }
  publish_pings(*area, rtts);
  if (failed) {
    area->a_failed = 1;
    return 1;
  }

  // Bulk: keep the send queue full, a window of plain sends in flight.
  auto payload = stream_payload(bulk_size);
  area->bulk_started = now_s();
  auto e = bench::pour(
    self, svc, *peer, payload, bulk_in_flight,
    [] { return area->stop || area->abort; }, [] { note_sender_cpu(); });
  if (e) {
    set_error(area->a_error, "dialer: bulk send: %s", sys.render(e).c_str());
    failed = true;
  }
  note_sender_cpu();
  if (failed)
    area->a_failed = 1;
  return failed ? 1 : 0;
}

} // namespace rudp_bench
