#include "bench/bench_service.hpp"

namespace bench {

using namespace std::chrono_literals;

uint16_t start_service(caf::actor_system& sys, caf::scoped_actor& self,
                       const crust::service_options& opts, caf::actor& svc,
                       std::string& why) {
  auto s = crust::spawn_service(sys, opts, caf::actor{self});
  if (!s) {
    why = "spawn_service: " + sys.render(s.error());
    return 0;
  }
  svc = *s;
  uint16_t port = 0;
  bool over = false;
  while (port == 0 && !over)
    self->receive(
      [&](crust::listening& l) {
        for (auto& e : l.endpoints)
          port = e.port;
      },
      [&](crust::service_failed& f) {
        why = "service failed: " + f.reason;
        over = true;
      },
      ignore_rest(), caf::after(10s) >> [&] { over = true; });
  if (port == 0 && why.empty())
    why = "the service did not listen within 10 s";
  return port;
}

caf::error pour(caf::scoped_actor& self, const caf::actor& to,
                const crust::peer_id& peer, const std::vector<uint8_t>& payload,
                uint64_t window, const std::function<bool()>& stop,
                const std::function<void()>& each) {
  // Plain sends, no answer each: `sent` gives the window back.
  uint64_t unconfirmed = 0;
  caf::error failure;
  while (!stop() && !failure) {
    each();
    while (unconfirmed + payload.size() <= window) {
      self->send(to, crust::send{peer, payload, crust::priority::normal});
      unconfirmed += payload.size();
    }
    self->receive(
      [&](crust::sent& s) { unconfirmed -= std::min(unconfirmed, s.bytes); },
      [&](crust::send_failed& f) {
        if (!stop()) // once stopped, the receiver may be gone already
          failure = std::move(f.reason);
      },
      [&](crust::peer_lost& l) {
        if (!stop())
          failure = crust::make_error(crust::errc::unknown_peer, l.reason);
      },
      ignore_rest(), caf::after(100ms) >> [] {});
  }
  return failure;
}

} // namespace bench
