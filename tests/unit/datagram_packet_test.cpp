#define CAF_SUITE datagram_packet
#include <caf/test/unit_test.hpp>

#include "transports/datagram/packet.hpp"

using namespace crust;
using namespace crust::datagram;

namespace {

std::string why_not(const std::vector<uint8_t>& bytes) {
  std::string why;
  auto p = parse(bytes.data(), bytes.size(), &why);
  return p ? std::string{"parsed"} : why;
}

} // namespace

CAF_TEST(every kind round trips) {
  std::vector<uint8_t> m1(message1_size, 1), m2(message2_size, 2),
    m3(message3_size, 3);
  cookie_bytes c;
  c.fill(9);
  auto init = encode_init(0x01020304, m1.data(), nullptr);
  auto p = parse(init.data(), init.size());
  CAF_REQUIRE(p);
  CAF_CHECK(p->what == kind::init);
  CAF_CHECK_EQUAL(p->sender, 0x01020304u);
  CAF_CHECK(!p->cookie);
  CAF_CHECK_EQUAL(p->body_size, message1_size);
  auto retry = encode_init(7, m1.data(), &c);
  p = parse(retry.data(), retry.size());
  CAF_REQUIRE(p && p->cookie);
  CAF_CHECK(*p->cookie == c);
  auto resp = encode_response(7, 8, m2.data());
  p = parse(resp.data(), resp.size());
  CAF_REQUIRE(p);
  CAF_CHECK_EQUAL(p->sender, 7u);
  CAF_CHECK_EQUAL(p->receiver, 8u);
  CAF_CHECK_EQUAL(p->body[0], 2);
  auto fin = encode_final(8, m3.data());
  p = parse(fin.data(), fin.size());
  CAF_REQUIRE(p);
  CAF_CHECK(p->what == kind::final);
  CAF_CHECK_EQUAL(p->body_size, message3_size);
  auto ck = encode_cookie(7, c);
  p = parse(ck.data(), ck.size());
  CAF_REQUIRE(p && p->cookie);
  auto data = encode_data_header(8, 0x0102030405060708);
  data.resize(data.size() + 100 + 16, 0xAA);
  p = parse(data.data(), data.size());
  CAF_REQUIRE(p);
  CAF_CHECK_EQUAL(p->counter, 0x0102030405060708u);
  CAF_CHECK_EQUAL(p->body_size, 116u);
}

CAF_TEST(wrong sizes and unknown types are refused with a reason) {
  std::vector<uint8_t> m1(message1_size, 1);
  auto init = encode_init(1, m1.data(), nullptr);
  init.push_back(0);
  CAF_CHECK_EQUAL(why_not(init), "datagram: INIT of the wrong size");
  init.pop_back();
  CAF_CHECK_EQUAL(init.size(), init_size);
  init.back() = 1;
  CAF_CHECK_EQUAL(why_not(init), "datagram: INIT padding is not zero");
  init.back() = 0;
  init[1 + 4 + message1_size] = 2;
  CAF_CHECK_EQUAL(why_not(init), "datagram: INIT with an unknown cookie flag");
  CAF_CHECK_EQUAL(why_not({0xC2, 0, 0, 0, 0, 0}),
                  "datagram: RESPONSE of the wrong size");
  CAF_CHECK_EQUAL(why_not({0xC5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}),
                  "datagram: DATA too short");
  CAF_CHECK_EQUAL(why_not({0x00, 0x01, 0x00, 0x00, 0x21}),
                  "datagram: unknown type"); // a STUN request's start
  CAF_CHECK_EQUAL(why_not({0xC1}), "datagram: too short");
  CAF_CHECK_EQUAL(why_not(std::vector<uint8_t>(max_size + 1, 0xC5)),
                  "datagram: too long");
}

CAF_TEST(the handshake sizes follow from noise xx and hello) {
  CAF_CHECK_EQUAL(message1_size, 32u);
  CAF_CHECK_EQUAL(message2_size, 32u + 48u + 57u);
  CAF_CHECK_EQUAL(message3_size, 48u + 57u);
  CAF_CHECK_LESS(1 + 8 + message2_size, max_size);
}
