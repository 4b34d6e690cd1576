// Two links over an in-memory pair with a stepped clock, for the link's
// tests (link_*_test.cpp): no actor, no socket, no cipher. Each end's
// frames go to the other as the carrier would hand them over (lanes kept
// apart where a test reorders them), and the tests read what comes out:
// frames, events, deadlines. Include it after defining CAF_SUITE.
#pragma once

#include <caf/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/unit/ids.hpp"
#include "transports/link.hpp"
#include "transports/wire.hpp"

using namespace crust;
using namespace std::chrono_literals;
using crust::test::filled_id;
using ft = crust::wire::frame_type;

namespace {

// A frame as a carrier would deliver it.
struct wire_frame {
  uint8_t lane;
  ft type;
  std::vector<uint8_t> body;
};

inline std::vector<uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

inline std::string text_of(const std::vector<uint8_t>& v) {
  return {v.begin(), v.end()};
}

inline link::settings settings_for(const peer_id& me, bool unordered) {
  link::settings s;
  s.local_id = me;
  s.address = "127.0.0.1:4000";
  s.max_message_size = 1 << 20;
  s.send_queue_size = 1 << 20;
  s.undecided_buffer_size = 100;
  s.handshake_timeout = 3s;
  s.heartbeat_interval = 5s;
  s.heartbeat_timeout = 15s;
  s.batching = !unordered;
  s.lanes_unordered = unordered;
  return s;
}

struct end_point {
  peer_id id;
  link lk;
  std::vector<link::event> events;

  end_point(peer_id me, bool unordered, link::time_point now)
    : id(me), lk(settings_for(me, unordered), now) {
    // nop
  }

  end_point(peer_id me, link::settings s, link::time_point now)
    : id(me), lk(std::move(s), now) {
    // nop
  }

  // Everything the link wants sent, control frames first.
  std::vector<wire_frame> take_frames() {
    std::vector<wire_frame> out;
    link::control_frame c;
    while (lk.poll_control(c))
      out.push_back({c.lane, c.type, c.body});
    auto batch = [&](auto&& fill) {
      std::vector<char> body;
      fill(body);
      out.push_back({0, ft::batch, {body.begin(), body.end()}});
    };
    auto data = [&](uint8_t flags, const uint8_t* p, size_t n) {
      std::vector<uint8_t> body{flags};
      body.insert(body.end(), p, p + n);
      uint8_t lane = (flags & wire::flag_normal) ? 1 : 0;
      out.push_back({lane, ft::data, std::move(body)});
    };
    while (lk.poll_data(batch, data))
      ; // nop
    return out;
  }

  // Only the control frames (data waits, as behind a full window).
  std::vector<wire_frame> take_control() {
    std::vector<wire_frame> out;
    link::control_frame c;
    while (lk.poll_control(c))
      out.push_back({c.lane, c.type, c.body});
    return out;
  }

  void take_events() {
    while (auto ev = lk.poll_event())
      events.push_back(std::move(*ev));
  }

  template <class T>
  std::vector<T> all() const {
    std::vector<T> result;
    for (auto& ev : events)
      if (auto x = std::get_if<T>(&ev))
        result.push_back(*x);
    return result;
  }

  // Why the link closed ("" while open).
  std::string close_reason() const {
    auto closed = all<link::closed>();
    return closed.empty() ? std::string{} : closed[0].reason;
  }

  std::vector<std::string> messages() const {
    std::vector<std::string> result;
    for (auto& d : all<link::delivered>())
      result.push_back(text_of(d.bytes));
    return result;
  }

  bool closed_with(misbehaviour kind) const {
    auto abused = all<link::abused>();
    return lk.is_closed() && abused.size() == 1
           && abused[0].report.kind == kind;
  }
};

inline std::vector<ft> types_of(const std::vector<wire_frame>& fs) {
  std::vector<ft> result;
  for (auto& f : fs)
    result.push_back(f.type);
  return result;
}

// `lead` has the lower id and so picks the connection that lives.
struct fixture {
  link::time_point now = link::time_point{} + 1h;
  end_point lead;
  end_point follow;

  explicit fixture(bool unordered = false)
    : lead(filled_id(1), unordered, now), follow(filled_id(2), unordered, now) {
    // nop
  }

  void deliver(end_point& to, const std::vector<wire_frame>& fs) {
    for (auto& f : fs)
      to.lk.handle_frame(f.lane, frame_view{f.type, f.body.data(), f.body.size()},
                         now);
    to.take_events();
  }

  // Carries what `from` sends to `to`, in order.
  std::vector<wire_frame> pass(end_point& from, end_point& to) {
    auto fs = from.take_frames();
    deliver(to, fs);
    return fs;
  }

  void identify() {
    lead.lk.admit();
    follow.lk.admit();
    lead.lk.handle_established(hello{follow.id, 2, false});
    follow.lk.handle_established(hello{lead.id, 1, false});
    lead.take_events();
    follow.take_events();
  }

  void select() {
    identify();
    lead.lk.select();
    pass(lead, follow);
    pass(follow, lead);
  }

  void keep_both() {
    select();
    lead.lk.keep();
    follow.lk.keep();
    lead.take_events();
    follow.take_events();
  }

  // A frame from the follower straight into the leader.
  void follower_sends(ft type, std::vector<uint8_t> body, uint8_t lane = 0) {
    deliver(lead, {{lane, type, std::move(body)}});
  }

  // Moves the clock to the leader's next deadline and lets it fire.
  void step_lead() {
    auto due = lead.lk.poll_timeout();
    CAF_REQUIRE(due);
    now = std::max(now, *due);
    lead.lk.handle_timeout(now);
    lead.take_events();
  }
};

inline std::vector<uint8_t> data_body(const std::string& text) {
  std::vector<uint8_t> body{wire::flag_last | wire::flag_normal};
  body.insert(body.end(), text.begin(), text.end());
  return body;
}

} // namespace
