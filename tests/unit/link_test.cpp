// The link alone: two links over an in-memory pair with a stepped clock,
// no actor, no socket, no cipher. Each end's frames go to the other as the
// carrier would hand them over (lanes kept apart where the test reorders
// them), and the tests read what comes out: frames, events, deadlines.
#define CAF_SUITE link
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

std::vector<uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

std::string text_of(const std::vector<uint8_t>& v) {
  return {v.begin(), v.end()};
}

link::settings settings_for(const peer_id& me, bool unordered) {
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

std::vector<ft> types_of(const std::vector<wire_frame>& fs) {
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

std::vector<uint8_t> data_body(const std::string& text) {
  std::vector<uint8_t> body{wire::flag_last | wire::flag_normal};
  body.insert(body.end(), text.begin(), text.end());
  return body;
}

} // namespace

CAF_TEST(two links identify and the leader selects) {
  fixture f;
  f.identify();
  CAF_CHECK_EQUAL(f.lead.all<link::identified>().size(), 1u);
  CAF_CHECK(f.lead.all<link::identified>()[0].remote.id == f.follow.id);
  CAF_CHECK(f.lead.lk.state() == link::phase::negotiating);
  f.lead.lk.select();
  auto sent = f.pass(f.lead, f.follow);
  CAF_CHECK(types_of(sent) == std::vector<ft>({ft::select, ft::observed}));
  CAF_CHECK_EQUAL(text_of(sent[1].body), "127.0.0.1:4000");
  CAF_CHECK_EQUAL(f.follow.all<link::selected_by_peer>().size(), 1u);
  auto observed = f.follow.all<link::observed>();
  CAF_REQUIRE_EQUAL(observed.size(), 1u);
  CAF_CHECK_EQUAL(observed[0].address, "127.0.0.1:4000");
  CAF_CHECK(types_of(f.pass(f.follow, f.lead))
            == std::vector<ft>({ft::observed}));
  CAF_CHECK(f.lead.lk.state() == link::phase::undecided);
  CAF_CHECK(f.follow.lk.state() == link::phase::undecided);
}

CAF_TEST(sends wait for keep and then arrive in order) {
  fixture f;
  f.select();
  CAF_CHECK(f.follow.lk.send(priority::normal, bytes_of("early"), 0)
            == errc::not_kept);
  f.follow.lk.keep();
  for (auto text : {"one", "two", "three"})
    CAF_CHECK(f.follow.lk.send(priority::normal, bytes_of(text), 0)
              == errc::none);
  f.pass(f.follow, f.lead);
  // Undecided: held, not delivered.
  CAF_CHECK(f.lead.messages().empty());
  CAF_CHECK(f.lead.lk.keep());
  f.lead.take_events();
  CAF_CHECK(f.lead.messages()
            == std::vector<std::string>({"one", "two", "three"}));
  CAF_CHECK(!f.lead.lk.keep()); // once
}

CAF_TEST(an undecided peer past its allowance halts reading until keep) {
  fixture f;
  f.select();
  f.follow.lk.keep();
  f.follow.lk.send(priority::normal, std::vector<uint8_t>(60, 'a'), 0);
  f.pass(f.follow, f.lead);
  CAF_CHECK(!f.lead.lk.input_halted());
  f.follow.lk.send(priority::normal, std::vector<uint8_t>(60, 'b'), 0);
  f.pass(f.follow, f.lead);
  CAF_CHECK(f.lead.lk.input_halted());
  CAF_CHECK(!f.lead.lk.wants_input());
  f.lead.lk.keep();
  f.lead.take_events();
  CAF_CHECK(!f.lead.lk.input_halted());
  CAF_CHECK_EQUAL(f.lead.messages().size(), 2u);
}

CAF_TEST(small messages sent together leave as one BATCH and arrive apart) {
  fixture f;
  f.keep_both();
  for (auto text : {"a", "bb", "ccc", "dddd"})
    f.follow.lk.send(priority::normal, bytes_of(text), 0);
  auto sent = f.pass(f.follow, f.lead);
  CAF_CHECK(types_of(sent) == std::vector<ft>({ft::batch}));
  CAF_CHECK(f.lead.messages()
            == std::vector<std::string>({"a", "bb", "ccc", "dddd"}));
  // A lone message goes as DATA.
  f.follow.lk.send(priority::normal, bytes_of("alone"), 0);
  CAF_CHECK(types_of(f.pass(f.follow, f.lead)) == std::vector<ft>({ft::data}));
}

CAF_TEST(without batching every chunk is its own DATA on its lane) {
  fixture f{true};
  f.keep_both();
  f.follow.lk.send(priority::normal, bytes_of("n1"), 0);
  f.follow.lk.send(priority::high, bytes_of("h1"), 0);
  auto sent = f.pass(f.follow, f.lead);
  CAF_REQUIRE_EQUAL(sent.size(), 2u);
  CAF_CHECK(sent[0].type == ft::data && sent[0].lane == 0); // high first
  CAF_CHECK(sent[1].type == ft::data && sent[1].lane == 1);
  CAF_CHECK(f.lead.messages() == std::vector<std::string>({"h1", "n1"}));
}

CAF_TEST(plain senders hear what of theirs left and their slots go idle) {
  fixture f;
  f.keep_both();
  f.follow.lk.send(priority::normal, std::vector<uint8_t>(10, 'x'), 1);
  f.follow.lk.send(priority::normal, std::vector<uint8_t>(20, 'y'), 2);
  f.follow.lk.send(priority::high, std::vector<uint8_t>(5, 'z'), 1);
  CAF_CHECK(!f.follow.lk.slot_idle(1));
  f.pass(f.follow, f.lead);
  f.follow.take_events();
  auto sent = f.follow.all<link::sent>();
  CAF_REQUIRE_EQUAL(sent.size(), 2u);
  CAF_CHECK_EQUAL(sent[0].slot, 1u);
  CAF_CHECK_EQUAL(sent[0].bytes, 15u);
  CAF_CHECK_EQUAL(sent[1].slot, 2u);
  CAF_CHECK_EQUAL(sent[1].bytes, 20u);
  CAF_CHECK(f.follow.lk.slot_idle(1));
  CAF_CHECK(f.follow.lk.slot_idle(2));
  f.follow.take_events();
  CAF_CHECK_EQUAL(f.follow.all<link::sent>().size(), 2u); // no more
}

CAF_TEST(a full queue and an oversized message are refused) {
  fixture f;
  f.keep_both();
  auto s = settings_for(filled_id(3), false);
  s.send_queue_size = 64;
  s.max_message_size = 64;
  link small{s, f.now};
  small.admit();
  small.handle_established(hello{filled_id(9), 1, false});
  small.select();
  small.keep();
  CAF_CHECK(small.send(priority::normal, std::vector<uint8_t>(40), 1)
            == errc::none);
  std::vector<uint8_t> thirty(30);
  CAF_CHECK(small.send(priority::normal, std::move(thirty), 1)
            == errc::send_queue_full);
  CAF_CHECK_EQUAL(thirty.size(), 30u); // the bytes stay the caller's
  CAF_CHECK(small.send(priority::normal, std::vector<uint8_t>(65), 1)
            == errc::message_too_large);
}

CAF_TEST(frames that break the protocol close the link with a reason) {
  struct refusal {
    const char* what;
    ft type;
    std::vector<uint8_t> body;
    bool selected; // sent once the connection lives
    misbehaviour kind;
  };
  std::vector<refusal> cases{
    {"DATA before SELECT", ft::data, data_body("sneaky"), false,
     misbehaviour::protocol_violation},
    {"SELECT from the follower", ft::select, {}, false,
     misbehaviour::protocol_violation},
    {"a second SELECT", ft::select, {}, true, misbehaviour::protocol_violation},
    {"empty BATCH", ft::batch, {}, true, misbehaviour::protocol_violation},
    {"BATCH item cut short", ft::batch,
     {0x00, 0x09, wire::flag_last | wire::flag_normal, 'a', 'b'}, true,
     misbehaviour::protocol_violation},
    {"reserved DATA flag", ft::data,
     {wire::flag_last | wire::flag_normal | 0x04, 'x'}, true,
     misbehaviour::protocol_violation},
    {"DATA without flags", ft::data, {}, true,
     misbehaviour::protocol_violation},
    {"unknown frame type", static_cast<ft>(0x0a), {}, true,
     misbehaviour::protocol_violation},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    fixture f;
    if (c.selected) {
      f.keep_both();
    } else {
      f.identify();
    }
    // The follower's SELECT reaches a leader; others as the follower.
    f.follower_sends(c.type, c.body);
    CAF_CHECK(f.lead.closed_with(c.kind));
    CAF_CHECK(f.lead.messages().empty());
    auto closed = f.lead.all<link::closed>();
    CAF_REQUIRE_EQUAL(closed.size(), 1u);
    CAF_CHECK(closed[0].reason.find("protocol_violation") != std::string::npos);
    CAF_CHECK(!closed[0].duplicate);
    // The peer is told why (it is authenticated).
    auto out = f.lead.take_frames();
    CAF_REQUIRE_EQUAL(out.size(), 1u);
    CAF_CHECK(out[0].type == ft::close);
    CAF_CHECK_EQUAL(out[0].body.at(0),
                    static_cast<uint8_t>(wire::close_reason::violation));
    // Nothing counts after the end.
    f.follower_sends(ft::data, data_body("late"));
    CAF_CHECK_EQUAL(f.lead.all<link::closed>().size(), 1u);
    CAF_CHECK(f.lead.messages().empty());
  }
}

CAF_TEST(a malformed BATCH delivers none of its items) {
  fixture f;
  f.keep_both();
  std::vector<uint8_t> body{0x00, 0x02, wire::flag_last | wire::flag_normal,
                            'o', 0x00, 0x09, wire::flag_last, 'x'};
  f.follower_sends(ft::batch, body);
  CAF_CHECK(f.lead.messages().empty());
  CAF_CHECK(f.lead.closed_with(misbehaviour::protocol_violation));
}

CAF_TEST(a peer that never identifies hears nothing and times out) {
  fixture f;
  f.lead.lk.admit();
  CAF_CHECK(f.lead.lk.poll_timeout() == f.now + 3s);
  f.step_lead();
  CAF_CHECK(f.lead.closed_with(misbehaviour::handshake_timeout));
  auto abused = f.lead.all<link::abused>();
  CAF_CHECK(!abused[0].report.peer);
  CAF_CHECK_EQUAL(abused[0].report.address, "127.0.0.1:4000");
  CAF_CHECK(f.lead.take_frames().empty()); // silence to strangers
  CAF_CHECK(!f.lead.lk.poll_timeout());
}

CAF_TEST(an identified peer that never selects times out with its id) {
  fixture f;
  f.identify();
  f.step_lead();
  CAF_CHECK(f.lead.closed_with(misbehaviour::handshake_timeout));
  auto abused = f.lead.all<link::abused>();
  CAF_REQUIRE(abused[0].report.peer);
  CAF_CHECK(*abused[0].report.peer == f.follow.id);
  auto out = f.lead.take_frames();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out[0].body.at(0),
                  static_cast<uint8_t>(wire::close_reason::timeout));
}

CAF_TEST(an idle link pings and a silent peer is lost at the heartbeat timeout) {
  fixture f;
  f.keep_both();
  f.lead.take_frames();
  // Selected: the handshake deadline is gone, the heartbeat remains.
  CAF_CHECK(f.lead.lk.poll_timeout() == f.now + 5s);
  f.step_lead(); // 5 s: silent for 5 s; we sent OBSERVED, so no PING
  CAF_CHECK(f.lead.take_frames().empty());
  CAF_CHECK(!f.lead.lk.is_closed());
  f.step_lead(); // 10 s: silent for 10 s
  CAF_CHECK(types_of(f.lead.take_frames()) == std::vector<ft>({ft::ping}));
  CAF_CHECK(!f.lead.lk.is_closed());
  f.step_lead(); // 15 s: silent for 15 s
  CAF_CHECK(f.lead.lk.is_closed());
  auto closed = f.lead.all<link::closed>();
  CAF_REQUIRE_EQUAL(closed.size(), 1u);
  CAF_CHECK_EQUAL(closed[0].reason, "no heartbeat for 15s");
  auto out = f.lead.take_frames();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].type == ft::close);
  CAF_CHECK_EQUAL(out[0].body.at(0),
                  static_cast<uint8_t>(wire::close_reason::timeout));
  CAF_CHECK_EQUAL(text_of({out[0].body.begin() + 1, out[0].body.end()}),
                  "heartbeat timeout");
}

CAF_TEST(proof of life or a pause on purpose keeps a link alive) {
  fixture f;
  f.keep_both();
  for (int i = 0; i < 6; ++i) {
    f.lead.lk.handle_activity();
    f.step_lead();
  }
  CAF_CHECK(!f.lead.lk.is_closed());
  f.lead.lk.handle_reading_paused(true);
  for (int i = 0; i < 6; ++i)
    f.step_lead();
  CAF_CHECK(!f.lead.lk.is_closed());
}

CAF_TEST(a waiting link counts no silence before admission) {
  fixture f;
  // Not admitted: only the handshake deadline can end it.
  f.step_lead();
  CAF_CHECK(f.lead.closed_with(misbehaviour::handshake_timeout));
}

CAF_TEST(peer exchange is answered after keep and once per interval) {
  fixture f;
  f.select();
  f.follower_sends(ft::peers_request, {});
  CAF_CHECK(f.lead.all<link::peers_requested>().empty()); // not kept yet
  f.lead.lk.keep();
  f.lead.take_events();
  CAF_CHECK_EQUAL(f.lead.all<link::peers_requested>().size(), 1u);
  f.follower_sends(ft::peers_request, {});
  CAF_CHECK_EQUAL(f.lead.all<link::peers_requested>().size(), 1u);
  f.now += 10s;
  f.follower_sends(ft::peers_request, {});
  CAF_CHECK_EQUAL(f.lead.all<link::peers_requested>().size(), 2u);
  // Only the sample we asked for is passed on.
  f.follower_sends(ft::peers, {1, 2, 3});
  CAF_CHECK(f.lead.all<link::peers_received>().empty());
  f.lead.lk.ask_peers();
  f.lead.lk.ask_peers(); // once per answer
  CAF_CHECK(types_of(f.lead.take_frames())
            == std::vector<ft>({ft::peers_request}));
  f.follower_sends(ft::peers, {1, 2, 3});
  f.follower_sends(ft::peers, {4});
  auto got = f.lead.all<link::peers_received>();
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK(got[0].sample == std::vector<uint8_t>({1, 2, 3}));
}

CAF_TEST(observed is heard once and only when short) {
  fixture f;
  f.select();
  CAF_CHECK_EQUAL(f.lead.all<link::observed>().size(), 1u);
  f.follower_sends(ft::observed, bytes_of("10.0.0.1:9"));
  CAF_CHECK_EQUAL(f.lead.all<link::observed>().size(), 1u);
  fixture g;
  g.identify();
  g.lead.lk.select();
  g.lead.take_frames();
  g.follower_sends(ft::observed, std::vector<uint8_t>(65, '1'));
  CAF_CHECK(g.lead.all<link::observed>().empty());
  g.follower_sends(ft::observed, bytes_of("1.2.3.4:5"));
  CAF_CHECK_EQUAL(g.lead.all<link::observed>().size(), 1u);
}

CAF_TEST(a CLOSE from the peer ends the link and says why) {
  fixture f;
  f.keep_both();
  std::vector<uint8_t> body{static_cast<uint8_t>(wire::close_reason::duplicate)};
  auto text = bytes_of("duplicate connection");
  body.insert(body.end(), text.begin(), text.end());
  f.follower_sends(ft::close, body);
  auto closed = f.lead.all<link::closed>();
  CAF_REQUIRE_EQUAL(closed.size(), 1u);
  CAF_CHECK_EQUAL(closed[0].reason, "closed by the peer: duplicate connection");
  CAF_CHECK(closed[0].duplicate);
  CAF_CHECK(f.lead.take_frames().empty()); // no answer to a CLOSE
}

CAF_TEST(closing tells the peer and ends at once) {
  fixture f;
  f.keep_both();
  f.lead.take_frames();
  f.lead.lk.close(wire::close_reason::dropped);
  f.lead.take_events();
  CAF_CHECK(f.lead.lk.is_closed());
  auto closed = f.lead.all<link::closed>();
  CAF_REQUIRE_EQUAL(closed.size(), 1u);
  CAF_CHECK_EQUAL(closed[0].reason, "dropped");
  auto out = f.pass(f.lead, f.follow);
  CAF_CHECK(types_of(out) == std::vector<ft>({ft::close}));
  auto theirs = f.follow.all<link::closed>();
  CAF_REQUIRE_EQUAL(theirs.size(), 1u);
  CAF_CHECK_EQUAL(theirs[0].reason, "closed by the peer: dropped");
  // Sends after the end are refused.
  CAF_CHECK(f.lead.lk.send(priority::normal, bytes_of("x"), 0)
            == errc::not_kept);
}

CAF_TEST(over unordered lanes DATA that overtakes SELECT waits for it) {
  fixture f{true};
  f.identify();
  f.follow.lk.keep(); // not undecided yet: ignored
  f.lead.lk.select();
  f.lead.lk.keep(); // not selected by the peer yet, but undecided here
  f.lead.lk.send(priority::normal, bytes_of("first"), 0);
  auto out = f.lead.take_frames();
  // SELECT and OBSERVED on lane 0, the message on lane 1: lane 1 first.
  std::stable_sort(out.begin(), out.end(),
                   [](auto& a, auto& b) { return a.lane > b.lane; });
  f.deliver(f.follow, out);
  CAF_CHECK(!f.follow.lk.is_closed());
  CAF_CHECK(f.follow.lk.state() == link::phase::undecided);
  CAF_CHECK(f.follow.lk.keep());
  f.follow.take_events();
  CAF_CHECK(f.follow.messages() == std::vector<std::string>({"first"}));
}

CAF_TEST(over unordered lanes early DATA past the allowance is refused) {
  fixture f{true};
  f.identify();
  f.follower_sends(ft::data, data_body(std::string(60, 'a')), 1);
  CAF_CHECK(!f.lead.lk.is_closed());
  f.follower_sends(ft::data, data_body(std::string(60, 'b')), 1);
  CAF_CHECK(f.lead.closed_with(misbehaviour::protocol_violation));
}

CAF_TEST(over unordered lanes CLOSE goes on both and waits for its twin) {
  fixture f{true};
  f.keep_both();
  f.lead.take_frames();
  f.follow.take_frames();
  f.follow.lk.close(wire::close_reason::normal);
  auto out = f.follow.take_frames();
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK(out[0].type == ft::close && out[0].lane == 0);
  CAF_CHECK(out[1].type == ft::close && out[1].lane == 1);
  // One lane's CLOSE: data still on its way on the other is delivered.
  f.deliver(f.lead, {out[0]});
  CAF_CHECK(!f.lead.lk.is_closed());
  f.follower_sends(ft::data, data_body("last words"), 1);
  CAF_CHECK(f.lead.messages() == std::vector<std::string>({"last words"}));
  f.deliver(f.lead, {out[1]});
  CAF_CHECK(f.lead.lk.is_closed());
  CAF_CHECK_EQUAL(f.lead.close_reason(),
                  "closed by the peer: shutdown");
}

CAF_TEST(over unordered lanes a lone CLOSE is final after the grace) {
  fixture f{true};
  f.keep_both();
  f.lead.take_frames();
  f.follower_sends(ft::close,
                   {static_cast<uint8_t>(wire::close_reason::dropped), 'd'}, 1);
  CAF_CHECK(!f.lead.lk.is_closed());
  CAF_CHECK(f.lead.lk.poll_timeout() == f.now + 1s);
  f.step_lead();
  CAF_CHECK(f.lead.lk.is_closed());
  CAF_CHECK_EQUAL(f.lead.close_reason(), "closed by the peer: d");
  CAF_CHECK(f.lead.take_frames().empty());
}

CAF_TEST(the carrier losing the connection or catching abuse ends the link) {
  fixture f;
  f.keep_both();
  f.lead.lk.handle_transport_closed("connection closed by the peer");
  f.lead.take_events();
  CAF_CHECK_EQUAL(f.lead.close_reason(),
                  "connection closed by the peer");
  fixture g;
  g.keep_both();
  g.lead.take_frames();
  g.lead.lk.handle_misbehaviour(misbehaviour::decrypt_failure, "bad tag");
  g.lead.take_events();
  CAF_CHECK(g.lead.closed_with(misbehaviour::decrypt_failure));
  CAF_CHECK_EQUAL(g.lead.close_reason(),
                  "decrypt_failure: bad tag");
  CAF_CHECK(types_of(g.lead.take_frames()) == std::vector<ft>({ft::close}));
}
