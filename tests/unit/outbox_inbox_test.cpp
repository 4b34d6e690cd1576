#define CAF_SUITE outbox
#include <caf/test/unit_test.hpp>

#include "transports/inbox.hpp"
#include "transports/outbox.hpp"
#include "transports/wire.hpp"

using namespace crust;

namespace {

// Runs every DATA body the outbox produces into an inbox.
struct pipe {
  outbox out{1 << 20, 1 << 20};
  inbox in{1 << 20};
  std::vector<std::pair<priority, std::vector<uint8_t>>> received;

  bool step() {
    chunk_view c;
    if (!out.peek(c))
      return false;
    std::vector<uint8_t> body{c.flags};
    body.insert(body.end(), c.data, c.data + c.size);
    out.pop();
    std::vector<uint8_t> msg;
    priority lane;
    if (in.on_data(body.data(), body.size(), msg, lane)
        == inbox::status::complete)
      received.emplace_back(lane, std::move(msg));
    return true;
  }
};

std::vector<uint8_t> filled(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

} // namespace

CAF_TEST(a high priority message overtakes a bulk message in flight) {
  pipe p;
  auto bulk = filled(200 * 1024, 1);
  CAF_CHECK(p.out.push(priority::normal, std::vector<uint8_t>(bulk)) == errc::none);
  CAF_CHECK(p.step()); // first bulk chunk is out
  CAF_CHECK(p.out.push(priority::high, filled(10, 9)) == errc::none);
  CAF_CHECK(p.step()); // the next frame is the whole high message
  CAF_REQUIRE_EQUAL(p.received.size(), 1u);
  CAF_CHECK(p.received[0].first == priority::high);
  while (p.step())
    ; // nop
  CAF_REQUIRE_EQUAL(p.received.size(), 2u);
  CAF_CHECK(p.received[1].first == priority::normal);
  CAF_CHECK(p.received[1].second == bulk);
  CAF_CHECK(p.out.empty());
}

CAF_TEST(messages of one lane keep their order and empty ones survive) {
  pipe p;
  for (uint8_t i = 0; i < 5; ++i)
    p.out.push(priority::normal, filled(i * 10000, i));
  while (p.step())
    ; // nop
  CAF_REQUIRE_EQUAL(p.received.size(), 5u);
  for (uint8_t i = 0; i < 5; ++i)
    CAF_CHECK(p.received[i].second == filled(i * 10000, i));
}

CAF_TEST(a full queue refuses with send_queue_full and memory stays bounded) {
  outbox out{100, 100};
  CAF_CHECK(out.push(priority::normal, filled(60, 0)) == errc::none);
  CAF_CHECK(out.push(priority::normal, filled(60, 0)) == errc::send_queue_full);
  CAF_CHECK(out.push(priority::high, filled(101, 0)) == errc::message_too_large);
  CAF_CHECK_EQUAL(out.queued_bytes(), 60u);
  chunk_view c;
  CAF_CHECK(out.peek(c));
  out.pop();
  CAF_CHECK_EQUAL(out.queued_bytes(), 0u);
  CAF_CHECK(out.push(priority::normal, filled(100, 0)) == errc::none);
}

CAF_TEST(messages moved from another path do not count against new ones) {
  // Their senders heard they left when the old path gave them up: an
  // application pacing by that may fill the queue again at once.
  outbox out{100, 100};
  out.push_moved(priority::normal, filled(90, 1));
  out.push_moved(priority::high, filled(90, 2));
  CAF_CHECK_EQUAL(out.queued_bytes(), 180u);
  CAF_CHECK(out.push(priority::normal, filled(100, 3)) == errc::none);
  CAF_CHECK(out.push(priority::normal, filled(1, 4)) == errc::send_queue_full);
  // Sending the moved ones frees nothing of the capacity...
  chunk_view c;
  CAF_REQUIRE(out.peek(c));
  CAF_CHECK_EQUAL(c.data[0], 2u); // high first
  out.pop();
  CAF_REQUIRE(out.peek(c));
  CAF_CHECK_EQUAL(c.data[0], 1u);
  out.pop();
  CAF_CHECK_EQUAL(out.queued_bytes(), 100u);
  CAF_CHECK(out.push(priority::normal, filled(1, 4)) == errc::send_queue_full);
  // ...sending the new one does.
  CAF_REQUIRE(out.peek(c));
  CAF_CHECK_EQUAL(c.data[0], 3u);
  out.pop();
  CAF_CHECK_EQUAL(out.queued_bytes(), 0u);
  CAF_CHECK(out.push(priority::normal, filled(100, 4)) == errc::none);
  // Taken whole for the next path, both kinds leave.
  out.push_moved(priority::normal, filled(50, 5));
  auto all = out.take_all();
  CAF_CHECK_EQUAL(all[1].size(), 2u);
  CAF_CHECK_EQUAL(out.queued_bytes(), 0u);
  CAF_CHECK(out.push(priority::normal, filled(100, 6)) == errc::none);
}

#undef CAF_SUITE
#define CAF_SUITE inbox

CAF_TEST(a message over the maximum is oversize abuse) {
  inbox in{100};
  std::vector<uint8_t> frame(61, 'x');
  frame[0] = 0; // high lane, not last
  std::vector<uint8_t> msg;
  priority lane;
  CAF_CHECK(in.on_data(frame.data(), frame.size(), msg, lane)
            == inbox::status::incomplete);
  CAF_CHECK(in.on_data(frame.data(), frame.size(), msg, lane)
            == inbox::status::violation);
  CAF_CHECK(in.kind() == misbehaviour::oversize);
}

CAF_TEST(unknown flags and a missing flag byte are violations) {
  inbox in{100};
  std::vector<uint8_t> msg;
  priority lane;
  uint8_t bad_flags[] = {0x80, 'x'};
  CAF_CHECK(in.on_data(bad_flags, sizeof(bad_flags), msg, lane)
            == inbox::status::violation);
  CAF_CHECK(in.on_data(bad_flags, 0, msg, lane) == inbox::status::violation);
}

CAF_TEST(lanes reassemble independently) {
  inbox in{100};
  std::vector<uint8_t> msg;
  priority lane;
  uint8_t normal_part[] = {wire::flag_normal, 'a'};
  uint8_t high_whole[] = {wire::flag_last, 'h'};
  uint8_t normal_end[] = {wire::flag_normal | wire::flag_last, 'b'};
  CAF_CHECK(in.on_data(normal_part, 2, msg, lane) == inbox::status::incomplete);
  CAF_CHECK(in.on_data(high_whole, 2, msg, lane) == inbox::status::complete);
  CAF_CHECK(lane == priority::high);
  CAF_CHECK(msg == std::vector<uint8_t>{'h'});
  CAF_CHECK(in.on_data(normal_end, 2, msg, lane) == inbox::status::complete);
  CAF_CHECK(lane == priority::normal);
  CAF_CHECK(msg == (std::vector<uint8_t>{'a', 'b'}));
}
