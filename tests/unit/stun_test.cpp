#define CAF_SUITE stun
#include <caf/test/unit_test.hpp>

#include <sstream>

#include "nat/stun.hpp"

using namespace crust;
using namespace std::chrono_literals;

namespace {

// RFC 5769 (test vectors for STUN), sections 2.2 and 2.3: Binding success
// responses carrying SOFTWARE, XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and
// FINGERPRINT.
const char* rfc5769_ipv4_response
  = "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    " 80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    " 00 20 00 08 00 01 a1 47 e1 12 a6 43"
    " 00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    " 80 28 00 04 c0 7d 4c 96";

const char* rfc5769_ipv6_response
  = "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    " 80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    " 00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
    " 00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
    " 80 28 00 04 c8 fb 0b 4c";

const stun::transaction_id vector_id{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                     0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

std::vector<uint8_t> hex(const char* text) {
  std::istringstream in{text};
  std::vector<uint8_t> out;
  for (std::string byte; in >> byte;)
    out.push_back(static_cast<uint8_t>(std::stoi(byte, nullptr, 16)));
  return out;
}

std::string why(const caf::expected<stun::binding_response>& r) {
  return r ? "" : r.error().context().get_as<std::string>(0);
}

} // namespace

CAF_TEST(the rfc 5769 ipv4 response yields 192.0.2.1 port 32853) {
  auto bytes = hex(rfc5769_ipv4_response);
  auto a = stun::parse_binding_response(bytes.data(), bytes.size(), vector_id);
  CAF_REQUIRE(a);
  CAF_CHECK(!a->v6());
  CAF_CHECK_EQUAL(a->ip, "192.0.2.1");
  CAF_CHECK_EQUAL(a->port, 32853u);
}

CAF_TEST(the rfc 5769 ipv6 response yields its address and port 32853) {
  auto bytes = hex(rfc5769_ipv6_response);
  auto a = stun::parse_binding_response(bytes.data(), bytes.size(), vector_id);
  CAF_REQUIRE(a);
  CAF_CHECK(a->v6());
  CAF_CHECK_EQUAL(a->ip, "2001:db8:1234:5678:11:2233:4455:6677");
  CAF_CHECK_EQUAL(a->port, 32853u);
}

CAF_TEST(a damaged or foreign response is refused with a reason) {
  auto good = hex(rfc5769_ipv4_response);
  auto parse = [&](const std::vector<uint8_t>& b,
                   const stun::transaction_id& id = vector_id) {
    return why(stun::parse_binding_response(b.data(), b.size(), id));
  };
  auto flipped = good;
  flipped[40] ^= 1; // inside XOR-MAPPED-ADDRESS
  CAF_CHECK_EQUAL(parse(flipped), "STUN: FINGERPRINT does not match");
  auto other_id = vector_id;
  other_id[0] ^= 1;
  CAF_CHECK_EQUAL(parse(good, other_id), "STUN: another transaction");
  auto short_one = good;
  short_one.resize(good.size() - 4);
  CAF_CHECK(parse(short_one).find("does not match") != std::string::npos);
  auto no_cookie = good;
  no_cookie[4] = 0;
  CAF_CHECK_EQUAL(parse(no_cookie), "STUN: not a STUN message");
  auto overlong_attr = good;
  overlong_attr[23] = 0xff; // SOFTWARE claims 0xff bytes
  CAF_CHECK(!parse(overlong_attr).empty());
}

CAF_TEST(a request carries the cookie the id and a valid fingerprint) {
  auto id = stun::new_transaction_id();
  auto req = stun::binding_request(id);
  CAF_REQUIRE_EQUAL(req.size(), 28u);
  CAF_CHECK_EQUAL(req[0], 0x00);
  CAF_CHECK_EQUAL(req[1], 0x01);
  CAF_CHECK_EQUAL(req[3], 8);
  CAF_CHECK(std::equal(id.begin(), id.end(), req.begin() + 8));
  uint32_t fp = (uint32_t{req[24]} << 24) | (uint32_t{req[25]} << 16)
                | (uint32_t{req[26]} << 8) | req[27];
  CAF_CHECK_EQUAL(fp, stun::crc32(req.data(), 20) ^ 0x5354554eu);
}

CAF_TEST(retransmission follows rfc 8489 and then gives up) {
  stun::retransmission r{500ms, 7};
  auto t = stun::retransmission::clock::time_point{};
  std::vector<long> sends;
  stun::retransmission::clock::time_point deadline;
  for (int i = 0; i < 20; ++i) {
    auto s = r.poll(t, deadline);
    if (s == stun::retransmission::step::give_up)
      break;
    if (s == stun::retransmission::step::send)
      sends.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch())
          .count());
    t = deadline;
  }
  CAF_CHECK(sends == (std::vector<long>{0, 500, 1500, 3500, 7500, 15500, 31500}));
  CAF_CHECK_EQUAL(std::chrono::duration_cast<std::chrono::milliseconds>(
                    t.time_since_epoch())
                    .count(),
                  39500);
}
