// A connection that moves between paths (docs/PROTOCOL.md, "Moving a
// connection"): from a relayed path to a direct one while messages are in
// flight both ways, and back when the direct path dies with messages
// unconfirmed; nothing is lost, duplicated or reordered. PATH_ACK lets
// go of what was delivered and bounds what waits; malformed or lying
// PATH_ frames close the link.
#define CAF_SUITE link_paths
#include "tests/unit/link_pair.hpp"

#include "transports/bytes.hpp"

namespace {

link::settings path_settings(const peer_id& me, bool resumable) {
  auto s = settings_for(me, false);
  s.batching = false; // one DATA frame per message: tests cut between them
  s.max_message_size = 1 << 20;
  s.send_queue_size = 8 << 20;
  s.undecided_buffer_size = 1 << 20;
  s.resumable = resumable;
  return s;
}

std::vector<uint8_t> counts_body(uint64_t high, uint64_t normal) {
  std::vector<uint8_t> body;
  bytes::put<uint64_t>(body, high);
  bytes::put<uint64_t>(body, normal);
  return body;
}

std::vector<std::string> names(const std::string& who, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i)
    out.push_back(who + std::to_string(i));
  return out;
}

size_t count_type(const std::vector<wire_frame>& fs, ft t) {
  return static_cast<size_t>(
    std::count_if(fs.begin(), fs.end(), [&](auto& f) { return f.type == t; }));
}

// Two peers with a relayed path (rl: the leader's end, rf: the
// follower's) and a direct one (dl, df).
struct paths {
  link::time_point now = link::time_point{} + 1h;
  end_point rl{filled_id(1), path_settings(filled_id(1), true), now};
  end_point rf{filled_id(2), path_settings(filled_id(2), true), now};
  end_point dl{filled_id(1), path_settings(filled_id(1), false), now};
  end_point df{filled_id(2), path_settings(filled_id(2), false), now};

  paths() {
    identify(rl, rf);
    rl.lk.select();
    carry(rl, rf);
    carry(rf, rl);
    rl.lk.keep();
    rf.lk.keep();
    take_all_events();
  }

  void identify(end_point& lead, end_point& follow) {
    lead.lk.admit();
    follow.lk.admit();
    lead.lk.handle_established(hello{follow.id, 2, false});
    follow.lk.handle_established(hello{lead.id, 1, false});
  }

  void take_all_events() {
    for (auto e : {&rl, &rf, &dl, &df})
      e->take_events();
  }

  void deliver(end_point& to, const std::vector<wire_frame>& fs) {
    for (auto& f : fs)
      to.lk.handle_frame(f.lane,
                         frame_view{f.type, f.body.data(), f.body.size()}, now);
    to.take_events();
  }

  std::vector<wire_frame> carry(end_point& from, end_point& to) {
    auto fs = from.take_frames();
    deliver(to, fs);
    return fs;
  }

  static void send_all(end_point& e, const std::vector<std::string>& msgs,
                       priority prio = priority::normal) {
    for (auto& m : msgs)
      CAF_REQUIRE(e.lk.send(prio, bytes_of(m), 0) == errc::none);
  }

  // The direct path comes up and the leader selects it (the follower
  // holds what it hears until it joins).
  void direct_selected() {
    identify(dl, df);
    dl.lk.select();
    carry(dl, df);
    carry(df, dl);
    take_all_events();
  }

  // Both sides moved to the direct path.
  void moved_direct() {
    direct_selected();
    auto h = rl.lk.leave();
    CAF_REQUIRE(dl.lk.join(*h));
    carry(dl, df);
    auto hf = rf.lk.leave();
    CAF_REQUIRE(df.lk.join(*hf));
    carry(df, dl);
  }

  void tick(end_point& e) {
    e.lk.handle_timeout(now + 5s);
    e.take_events();
  }
};

// Everything one side delivered, over both its paths, in order.
std::vector<std::string> heard(const end_point& a, const end_point& b) {
  auto out = a.messages();
  auto more = b.messages();
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

} // namespace

CAF_TEST(a relayed connection moves to a direct path with messages in flight) {
  paths p;
  paths::send_all(p.rl, names("L", 0, 10));
  paths::send_all(p.rf, names("F", 0, 10));
  p.carry(p.rl, p.rf); // all of the leader's arrive
  auto from_follower = p.rf.take_frames();
  CAF_REQUIRE_EQUAL(count_type(from_follower, ft::data), 10u);
  // Half of the follower's reach the leader before the move; the rest
  // are still in the relay when the leader leaves it.
  std::vector<wire_frame> early(from_follower.begin(),
                                from_follower.begin() + 5);
  std::vector<wire_frame> late(from_follower.begin() + 5, from_follower.end());
  p.deliver(p.rl, early);
  p.direct_selected();
  // The leader moves and goes on sending on the direct path.
  auto h = p.rl.lk.leave();
  CAF_REQUIRE(h);
  CAF_CHECK(p.rl.lk.role() == link::path_role::parked);
  CAF_REQUIRE(p.dl.lk.join(*h));
  CAF_CHECK(p.dl.lk.role() == link::path_role::joining);
  paths::send_all(p.dl, names("L", 10, 15));
  auto direct = p.carry(p.dl, p.df);
  CAF_CHECK(direct.front().type == ft::path_resume);
  CAF_CHECK(p.df.messages().empty()); // held until the follower joins
  // What the relay still carried arrives at a parked path: dropped.
  p.deliver(p.rl, late);
  CAF_CHECK_EQUAL(p.rl.messages(), names("F", 0, 5));
  CAF_CHECK(p.rl.lk.send(priority::normal, bytes_of("x"), 0) == errc::not_kept);
  // The follower moves: it skips the ten it had from the relay.
  auto hf = p.rf.lk.leave();
  CAF_REQUIRE(hf);
  CAF_REQUIRE(p.df.lk.join(*hf));
  p.df.take_events();
  CAF_CHECK(p.df.lk.role() == link::path_role::current);
  paths::send_all(p.df, names("F", 10, 15));
  p.carry(p.df, p.dl);
  CAF_CHECK(p.dl.lk.role() == link::path_role::current);
  CAF_CHECK_EQUAL(heard(p.rf, p.df), names("L", 0, 15));
  CAF_CHECK_EQUAL(heard(p.rl, p.dl), names("F", 0, 15));
  CAF_CHECK(!p.dl.lk.is_closed() && !p.df.lk.is_closed());
}

CAF_TEST(a direct path that dies falls back to the relay and resends what was unconfirmed) {
  paths p;
  p.moved_direct();
  // Fifteen go direct and are confirmed (the follower's tick ACKs them).
  paths::send_all(p.dl, names("L", 0, 15));
  paths::send_all(p.dl, {"H0"}, priority::high);
  p.carry(p.dl, p.df);
  p.tick(p.df);
  auto acks = p.carry(p.df, p.dl);
  CAF_CHECK_EQUAL(count_type(acks, ft::path_ack), 1u);
  // Ten more, and the direct path dies with them on the wire.
  paths::send_all(p.dl, names("L", 15, 25));
  auto lost = p.dl.take_frames();
  CAF_CHECK_EQUAL(count_type(lost, ft::data), 10u);
  p.dl.lk.handle_transport_closed("connection reset");
  p.df.lk.handle_transport_closed("connection reset");
  p.take_all_events();
  // Back to the relay: the ten unconfirmed go again, nothing else.
  auto back = p.dl.lk.leave();
  CAF_REQUIRE(back);
  CAF_REQUIRE(p.rl.lk.join(*back));
  auto resent = p.carry(p.rl, p.rf);
  CAF_CHECK(resent.front().type == ft::path_resume);
  CAF_CHECK_EQUAL(count_type(resent, ft::data), 10u);
  CAF_CHECK_EQUAL(p.rf.all<link::resume_heard>().size(), 1u);
  CAF_CHECK_EQUAL(p.rf.messages().size(), 0u); // held: parked
  auto back_f = p.df.lk.leave();
  CAF_REQUIRE(back_f);
  CAF_REQUIRE(p.rf.lk.join(*back_f));
  p.rf.take_events();
  paths::send_all(p.rf, {"F0"});
  p.carry(p.rf, p.rl);
  paths::send_all(p.rl, {"L25"});
  p.carry(p.rl, p.rf);
  auto expected = names("L", 0, 26);
  expected.insert(expected.begin() + 15, "H0"); // the high lane's one
  auto got = heard(p.df, p.rf);
  // H0 went ahead of L15 on the wire (it was queued before them).
  CAF_CHECK_EQUAL(got.size(), expected.size());
  auto normal = got;
  normal.erase(std::remove(normal.begin(), normal.end(), "H0"), normal.end());
  CAF_CHECK_EQUAL(normal, names("L", 0, 26));
  CAF_CHECK_EQUAL(std::count(got.begin(), got.end(), "H0"), 1);
  CAF_CHECK_EQUAL(p.rl.messages(), std::vector<std::string>{"F0"});
}

CAF_TEST(a side whose direct path died before its peer moved comes back and both resume on the relay) {
  paths p;
  p.direct_selected();
  // The leader moves; what it sends on the direct path never arrives.
  auto h = p.rl.lk.leave();
  CAF_REQUIRE(p.dl.lk.join(*h));
  paths::send_all(p.dl, names("L", 0, 5));
  p.dl.take_frames(); // lost with the path
  // The follower never moved: it goes on over the relay, and the parked
  // leader drops what it brings (it is unconfirmed, so it comes again).
  paths::send_all(p.rf, names("F", 0, 5));
  p.carry(p.rf, p.rl);
  CAF_CHECK(p.rl.messages().empty());
  // The direct path dies; the leader comes back to the relay.
  p.dl.lk.handle_transport_closed("connection reset");
  p.dl.take_events();
  auto back = p.dl.lk.leave();
  CAF_REQUIRE(back);
  CAF_REQUIRE(p.rl.lk.join(*back));
  auto resent = p.carry(p.rl, p.rf);
  CAF_CHECK(resent.front().type == ft::path_resume);
  // The follower resumes in place: its own PATH_RESUME and its five again.
  CAF_CHECK(!p.rf.lk.is_closed());
  CAF_CHECK(p.rf.lk.role() == link::path_role::current);
  auto answer = p.carry(p.rf, p.rl);
  CAF_CHECK(answer.front().type == ft::path_resume);
  CAF_CHECK(p.rl.lk.role() == link::path_role::current);
  paths::send_all(p.rl, {"L5"});
  paths::send_all(p.rf, {"F5"});
  p.carry(p.rl, p.rf);
  p.carry(p.rf, p.rl);
  CAF_CHECK_EQUAL(p.rf.messages(), names("L", 0, 6));
  CAF_CHECK_EQUAL(p.rl.messages(), names("F", 0, 6));
  CAF_CHECK(!p.rl.lk.is_closed() && !p.rf.lk.is_closed());
  // A second PATH_RESUME on the path in use before a heartbeat tick is
  // a violation (each makes us send our unconfirmed messages again).
  p.deliver(p.rf, {wire_frame{0, ft::path_resume, counts_body(0, 6)}});
  CAF_CHECK(p.rf.lk.is_closed());
}

CAF_TEST(an ACK for messages handed back before they went again is no lie) {
  paths p;
  p.moved_direct();
  // Ten arrive on the direct path; its ACK is lost with it.
  paths::send_all(p.dl, names("L", 0, 10));
  p.carry(p.dl, p.df);
  p.tick(p.df);
  p.df.take_frames();
  p.dl.lk.handle_transport_closed("connection reset");
  p.df.lk.handle_transport_closed("connection reset");
  p.take_all_events();
  // Both go back to the relay; the follower's ACK (ten) reaches the
  // leader before the leader's ten went again.
  auto back = p.dl.lk.leave();
  CAF_REQUIRE(p.rl.lk.join(*back));
  auto back_f = p.df.lk.leave();
  CAF_REQUIRE(p.rf.lk.join(*back_f));
  // Only the leader's PATH_RESUME leaves yet (its window is full).
  p.deliver(p.rf, p.rl.take_control());
  p.tick(p.rf);
  auto from_f = p.carry(p.rf, p.rl);
  CAF_CHECK_EQUAL(count_type(from_f, ft::path_ack), 1u);
  CAF_CHECK(!p.rl.lk.is_closed());
  CAF_CHECK(p.rl.lk.role() == link::path_role::current);
  // They go again all the same (and are skipped); the next is new.
  paths::send_all(p.rl, {"L10"});
  p.carry(p.rl, p.rf);
  CAF_CHECK_EQUAL(heard(p.df, p.rf), names("L", 0, 11));
  CAF_CHECK(!p.rf.lk.is_closed());
  // Confirming more than was ever numbered is still a lie.
  p.deliver(p.rl, {{0, ft::path_ack, counts_body(0, 12)}});
  CAF_CHECK(p.rl.closed_with(misbehaviour::protocol_violation));
}

CAF_TEST(a message half sent on a path before a move arrives whole after it) {
  paths p;
  p.direct_selected();
  // A message of several chunks: only its first chunk crosses the relay
  // before the leader moves to the direct path.
  std::string big(3 * wire::chunk_size + 17, 'x');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = char('a' + i % 23);
  paths::send_all(p.rl, {big});
  auto chunks = p.rl.take_frames();
  CAF_REQUIRE_GREATER(count_type(chunks, ft::data), 1u);
  p.deliver(p.rf, {chunks.front()});
  auto h = p.rl.lk.leave();
  CAF_REQUIRE(p.dl.lk.join(*h));
  // The direct path dies before the follower moved; the leader comes
  // back to the relay and sends the message again, whole.
  p.dl.take_frames();
  p.dl.lk.handle_transport_closed("connection reset");
  p.dl.take_events();
  auto back = p.dl.lk.leave();
  CAF_REQUIRE(p.rl.lk.join(*back));
  p.carry(p.rl, p.rf);
  p.carry(p.rf, p.rl);
  CAF_CHECK_EQUAL(p.rf.messages(), std::vector<std::string>{big});
  CAF_CHECK(!p.rf.lk.is_closed());
}

CAF_TEST(what waits for PATH_ACK is bounded and an ACK lets the rest go) {
  paths p;
  std::vector<std::string> big;
  for (int i = 0; i < 6; ++i)
    big.push_back(std::string(1 << 20, char('a' + i)));
  paths::send_all(p.rl, big);
  auto first = p.rl.take_frames();
  size_t first_bytes = 0;
  for (auto& f : first)
    if (f.type == ft::data)
      first_bytes += f.body.size() - 1;
  // Four MiB wait for confirmation; no more leave before an ACK.
  CAF_CHECK_EQUAL(first_bytes, size_t{path_ledger::max_unconfirmed});
  CAF_CHECK(p.rl.take_frames().empty());
  p.deliver(p.rf, first);
  auto acks = p.carry(p.rf, p.rl);
  CAF_CHECK(count_type(acks, ft::path_ack) >= 1u);
  // The carrier hears that data may move again (nothing else would make
  // it pump once the application stopped sending).
  CAF_CHECK_EQUAL(p.rl.all<link::unblocked>().size(), 1u);
  p.carry(p.rl, p.rf);
  CAF_CHECK_EQUAL(p.rf.messages().size(), 6u);
}

CAF_TEST(malformed or lying PATH frames close the link) {
  {
    fixture f; // a connection that does not move
    f.keep_both();
    f.follower_sends(ft::path_ack, counts_body(0, 0));
    CAF_CHECK(f.lead.closed_with(misbehaviour::protocol_violation));
  }
  {
    paths p;
    p.deliver(p.rl, {{0, ft::path_ack, counts_body(0, 3)}});
    CAF_CHECK(p.rl.closed_with(misbehaviour::protocol_violation));
    CAF_CHECK(p.rl.close_reason().find("never sent") != std::string::npos);
  }
  {
    paths p;
    p.deliver(p.rl, {{0, ft::path_ack, {1, 2, 3}}});
    CAF_CHECK(p.rl.closed_with(misbehaviour::protocol_violation));
  }
  {
    paths p; // a RESUME on the path in use resumes it once per tick
    p.deliver(p.rl, {{0, ft::path_resume, counts_body(0, 0)}});
    CAF_CHECK(!p.rl.lk.is_closed());
    p.deliver(p.rl, {{0, ft::path_resume, counts_body(0, 0)}});
    CAF_CHECK(p.rl.closed_with(misbehaviour::protocol_violation));
  }
  {
    paths p; // ... and never past what we delivered
    p.deliver(p.rl, {{0, ft::path_resume, counts_body(0, 4)}});
    CAF_CHECK(p.rl.closed_with(misbehaviour::protocol_violation));
  }
  {
    paths p; // the peer claims to start past what we delivered
    p.direct_selected();
    auto h = p.rf.lk.leave();
    CAF_REQUIRE(p.df.lk.join(*h));
    p.deliver(p.df, {{0, ft::path_resume, counts_body(0, 4)}});
    CAF_CHECK(p.df.closed_with(misbehaviour::protocol_violation));
    CAF_CHECK(p.df.close_reason().find("leaves out") != std::string::npos);
  }
}
