// The link's circuit frames (CIRCUIT_OPEN, _OPENED, _INCOMING, _DATA,
// _CREDIT, _CLOSE): each crosses a kept link intact, nothing is heard
// before keep (an OPEN is refused), and malformed ones close the link.
#define CAF_SUITE link_circuits
#include "tests/unit/link_pair.hpp"

namespace {

relay_limits odd_limits() {
  relay_limits l;
  l.max_circuits = 7;
  l.max_circuits_per_peer = 3;
  l.open_burst = 2;
  l.open_interval = std::chrono::milliseconds(1500);
  l.circuit_bytes_per_sec = 123456;
  l.total_bytes_per_sec = 654321;
  l.window = 4096;
  l.idle_timeout = std::chrono::milliseconds(9000);
  return l;
}

bool same(const relay_limits& a, const relay_limits& b) {
  return a.max_circuits == b.max_circuits
         && a.max_circuits_per_peer == b.max_circuits_per_peer
         && a.open_burst == b.open_burst && a.open_interval == b.open_interval
         && a.circuit_bytes_per_sec == b.circuit_bytes_per_sec
         && a.total_bytes_per_sec == b.total_bytes_per_sec
         && a.window == b.window && a.idle_timeout == b.idle_timeout;
}

std::vector<uint8_t> id_then(uint32_t id, std::vector<uint8_t> rest) {
  std::vector<uint8_t> body{uint8_t(id >> 24), uint8_t(id >> 16),
                            uint8_t(id >> 8), uint8_t(id)};
  body.insert(body.end(), rest.begin(), rest.end());
  return body;
}

} // namespace

CAF_TEST(kept links carry every circuit frame intact) {
  fixture f;
  f.keep_both();
  auto target = filled_id(9);
  f.follow.lk.open_circuit(5, target);
  f.follow.lk.send_circuit_data(5, reinterpret_cast<const uint8_t*>("abc"), 3);
  f.follow.lk.grant_circuit_credit(5, 777);
  f.follow.lk.close_circuit(5, circuit_reason::idle);
  f.pass(f.follow, f.lead);
  auto open = f.lead.all<link::circuit_open_requested>();
  CAF_REQUIRE_EQUAL(open.size(), 1u);
  CAF_CHECK_EQUAL(open[0].id, 5u);
  CAF_CHECK(open[0].to == target);
  auto data = f.lead.all<link::circuit_data>();
  CAF_REQUIRE_EQUAL(data.size(), 1u);
  CAF_CHECK(data[0].bytes == (std::vector<uint8_t>{'a', 'b', 'c'}));
  auto credit = f.lead.all<link::circuit_credit>();
  CAF_REQUIRE_EQUAL(credit.size(), 1u);
  CAF_CHECK_EQUAL(credit[0].bytes, 777u);
  auto closed = f.lead.all<link::circuit_closed>();
  CAF_REQUIRE_EQUAL(closed.size(), 1u);
  CAF_CHECK(closed[0].why == circuit_reason::idle);
  f.lead.lk.circuit_opened_frame(5, 4096, odd_limits());
  f.lead.lk.circuit_incoming_frame(0x80000001u, target, 100, odd_limits());
  f.pass(f.lead, f.follow);
  auto opened = f.follow.all<link::circuit_opened>();
  CAF_REQUIRE_EQUAL(opened.size(), 1u);
  CAF_CHECK_EQUAL(opened[0].credit, 4096u);
  CAF_CHECK(same(opened[0].limits, odd_limits()));
  auto in = f.follow.all<link::circuit_incoming>();
  CAF_REQUIRE_EQUAL(in.size(), 1u);
  CAF_CHECK_EQUAL(in[0].id, 0x80000001u);
  CAF_CHECK(in[0].from == target);
  CAF_CHECK_EQUAL(in[0].credit, 100u);
  CAF_CHECK(same(in[0].limits, odd_limits()));
}

CAF_TEST(no circuit before keep and an open is refused) {
  fixture f;
  f.select();
  f.follow.lk.open_circuit(1, filled_id(9));
  f.follow.lk.send_circuit_data(1, reinterpret_cast<const uint8_t*>("x"), 1);
  CAF_CHECK(f.follow.take_frames().empty());
  auto to = filled_id(9);
  f.follower_sends(ft::circuit_open,
                   id_then(1, std::vector<uint8_t>(to.bytes.begin(),
                                                   to.bytes.end())));
  CAF_CHECK(f.lead.all<link::circuit_open_requested>().empty());
  auto out = f.lead.take_frames();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].type == ft::circuit_close);
  CAF_CHECK(out[0].body == id_then(1, {static_cast<uint8_t>(
                                        circuit_reason::refused)}));
  f.follower_sends(ft::circuit_data, id_then(1, {1, 2}));
  CAF_CHECK(f.lead.all<link::circuit_data>().empty());
  CAF_CHECK(!f.lead.lk.is_closed());
}

CAF_TEST(malformed circuit frames close the link) {
  struct bad {
    ft type;
    std::vector<uint8_t> body;
  };
  std::vector<bad> cases{
    {ft::circuit_open, id_then(1, std::vector<uint8_t>(31, 0))},
    {ft::circuit_opened, id_then(1, std::vector<uint8_t>(29, 0))},
    {ft::circuit_incoming, id_then(1, std::vector<uint8_t>(61, 0))},
    {ft::circuit_data, id_then(1, {})},
    {ft::circuit_data, id_then(1, std::vector<uint8_t>(
                                    wire::max_circuit_chunk + 1, 0))},
    {ft::circuit_credit, id_then(1, {0, 0, 1})},
    {ft::circuit_close, id_then(1, {})},
    {ft::circuit_close, id_then(1, {max_circuit_reason + 1})},
    {ft::circuit_close, {0, 0, 1}},
  };
  for (auto& c : cases) {
    fixture f;
    f.keep_both();
    f.follower_sends(c.type, c.body);
    CAF_CHECK(f.lead.closed_with(misbehaviour::protocol_violation));
  }
}
