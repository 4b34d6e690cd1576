#define CAF_SUITE endpoint
#include <caf/test/unit_test.hpp>

#include "crust/endpoint.hpp"

using namespace crust;

CAF_TEST(endpoints parse and print back) {
  auto id = peer_id::random();
  for (std::string text : {std::string{"tcp://127.0.0.1:4000"},
                           std::string{"tcp://[::1]:9"},
                           "tcp://10.0.0.1:65535#" + id.to_hex()}) {
    auto ep = endpoint::parse(text);
    CAF_REQUIRE(ep);
    CAF_CHECK_EQUAL(to_string(*ep), text);
  }
  auto pinned = endpoint::parse("tcp://10.0.0.1:1#" + id.to_hex());
  CAF_REQUIRE(pinned && pinned->pinned);
  CAF_CHECK(*pinned->pinned == id);
}

CAF_TEST(bad endpoints are refused with the text named) {
  for (auto text : {"127.0.0.1:4000", "tcp://127.0.0.1", "tcp://127.0.0.1:0",
                    "tcp://127.0.0.1:70000", "tcp://example.org:80",
                    "tcp://[::1:80", "tcp://127.0.0.1:80#abc",
                    "carrier://1.2.3.4:5"}) {
    auto ep = endpoint::parse(text);
    CAF_CHECK(!ep);
    if (!ep)
      CAF_CHECK(to_string(ep.error()).find(text) != std::string::npos
                || ep.error().context().get_as<std::string>(0).find(text)
                     != std::string::npos);
  }
}

CAF_TEST(peer ids round trip through hex) {
  auto id = peer_id::random();
  auto back = peer_id::from_hex(id.to_hex());
  CAF_REQUIRE(back);
  CAF_CHECK(*back == id);
  CAF_CHECK(!peer_id::from_hex("zz"));
  CAF_CHECK(!peer_id::from_hex(std::string(64, 'g')));
  CAF_CHECK_EQUAL(id.short_hex().size(), 8u);
}

CAF_TEST(addresses are stored in canonical form) {
  auto ep = endpoint::parse("tcp://[0:0::0001]:80");
  CAF_REQUIRE(ep);
  CAF_CHECK_EQUAL(ep->host, "::1");
}

CAF_TEST(an embedded NUL is refused) {
  // Found by fuzz-endpoint: inet_pton stops at the NUL and took the rest.
  std::string text{"tcp://6.0.0.1"};
  text += '\0';
  text += "junk:4000";
  CAF_CHECK(!endpoint::parse(text));
}
