#include "bench/bench_service.hpp"

#include <deque>
#include <thread>

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

caf::error pour(caf::scoped_actor& self, const caf::actor& svc,
                const crust::peer_id& peer, const std::vector<uint8_t>& payload,
                size_t window, const std::function<bool()>& stop,
                const std::function<void()>& each) {
  // No timeout per request: each would be a timer on CAF's clock thread,
  // which in a 64-byte stream cost the client as much CPU as its
  // connection. Every request is answered, or bounced if the receiver is
  // gone.
  using handle = decltype(self->request(svc, caf::infinite, crust::send{}));
  std::deque<handle> pending;
  caf::error failure;
  while (!stop() && !failure) {
    each();
    while (pending.size() < window)
      pending.push_back(self->request(
        svc, caf::infinite,
        crust::send{peer, payload, crust::priority::normal}));
    bool full = false;
    pending.front().receive(
      [&](caf::ok_atom) {},
      [&](caf::error& e) {
        if (e.category() == crust::error_category
            && e.code() == static_cast<uint8_t>(crust::errc::send_queue_full))
          full = true;
        else if (!stop()) // once stopped, the receiver may be gone already
          failure = std::move(e);
      });
    pending.pop_front();
    if (full)
      std::this_thread::sleep_for(1ms);
  }
  return failure;
}

} // namespace bench
