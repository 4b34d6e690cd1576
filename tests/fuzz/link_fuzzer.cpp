// libFuzzer target: a link fed by a peer's frames, the node's decisions and
// the passing of time, in an order the input chooses. Invariants: the phase
// only moves forward and `closed` is final and said once; nothing is
// delivered before keep; nothing is sent to a peer that never identified
// (silence to strangers); no data leaves before keep; a halted link wants
// no input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "transports/link.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t allowance = 256;
constexpr uint32_t max_message = 512;

link::settings settings_for(bool leads, bool unordered) {
  link::settings s;
  s.local_id.bytes.fill(leads ? 1 : 3);
  s.address = "198.18.0.1:4000";
  s.max_message_size = max_message;
  s.send_queue_size = 4096;
  s.undecided_buffer_size = allowance;
  s.handshake_timeout = 3s;
  s.heartbeat_interval = 5s;
  s.heartbeat_timeout = 15s;
  s.batching = !unordered;
  s.lanes_unordered = unordered;
  return s;
}

struct checker {
  link& lk;
  bool identified = false;
  bool kept = false;
  bool closed = false;

  void drain() {
    link::control_frame c;
    while (lk.poll_control(c))
      if (!identified)
        abort(); // a stranger heard from us
    auto batch = [](auto&& fill) {
      std::vector<char> body;
      fill(body);
    };
    auto data = [](uint8_t, const uint8_t*, size_t) {};
    while (lk.poll_data(batch, data))
      if (!kept)
        abort(); // data left before keep
    while (auto ev = lk.poll_event()) {
      if (closed)
        abort(); // an event after the end
      if (std::holds_alternative<link::identified>(*ev))
        identified = true;
      if (std::holds_alternative<link::delivered>(*ev) && !kept)
        abort();
      if (std::holds_alternative<link::closed>(*ev))
        closed = true;
    }
    if (closed != lk.is_closed())
      abort();
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  bool leads = data[0] & 1;
  bool unordered = data[0] & 2;
  auto now = link::time_point{} + 1h;
  link lk{settings_for(leads, unordered), now};
  checker ck{lk};
  auto last = lk.state();
  peer_id them;
  them.bytes.fill(2);
  for (size_t i = 1; i < size;) {
    uint8_t op = data[i++];
    switch (op % 8) {
      case 0:
        lk.admit();
        break;
      case 1:
        lk.handle_established(hello{them, 7, false});
        break;
      case 2:
        lk.select();
        break;
      case 3:
        if (lk.keep())
          ck.kept = true;
        break;
      case 4: { // a frame: lane, type, length, body
        if (i + 3 > size)
          return 0;
        uint8_t lane = data[i] & 1;
        auto type = static_cast<wire::frame_type>(data[i + 1] % 12);
        size_t len = std::min<size_t>(data[i + 2], size - i - 3);
        lk.handle_frame(lane, frame_view{type, data + i + 3, len}, now);
        i += 3 + len;
        break;
      }
      case 5:
        now += std::chrono::milliseconds(250) * (op >> 3);
        lk.handle_timeout(now);
        break;
      case 6:
        lk.send(op & 8 ? priority::high : priority::normal,
                std::vector<uint8_t>((op >> 4) * 40, 'x'), (op >> 3) & 1);
        break;
      case 7:
        if (op & 8)
          lk.close(wire::close_reason::normal);
        else
          lk.handle_activity();
        break;
    }
    ck.drain();
    if (lk.state() < last)
      abort(); // phases only move forward
    last = lk.state();
    if (lk.state() == link::phase::undecided && lk.input_halted()
        && lk.wants_input())
      abort();
  }
  return 0;
}
