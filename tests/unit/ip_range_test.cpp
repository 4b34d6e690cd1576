#define CAF_SUITE ip_range
#include <caf/test/unit_test.hpp>

#include "transports/ip_range.hpp"

using namespace crust;

CAF_TEST(ranges match their addresses and nothing else) {
  auto r = parse_ip_range("10.1.0.0/16");
  CAF_REQUIRE(r);
  CAF_CHECK(in_range(*r, "10.1.2.3"));
  CAF_CHECK(!in_range(*r, "10.2.0.1"));
  // The same IPv4 host as a dual-stack socket shows it.
  CAF_CHECK(in_range(*r, "::ffff:10.1.2.3"));
  CAF_CHECK(!in_range(*r, "::ffff:10.2.0.1"));
  auto one = parse_ip_range("127.0.0.1");
  CAF_REQUIRE(one);
  CAF_CHECK(in_range(*one, "127.0.0.1"));
  CAF_CHECK(!in_range(*one, "127.0.0.2"));
  auto v6 = parse_ip_range("fe80::/10");
  CAF_REQUIRE(v6);
  CAF_CHECK(in_range(*v6, "fe80::1"));
  CAF_CHECK(!in_range(*v6, "2001:db8::1"));
  CAF_CHECK(!in_range(*v6, "10.1.2.3"));
  // Host bits do not matter: these are one range.
  auto same = parse_ip_range("10.1.2.3/16");
  CAF_REQUIRE(same);
  CAF_CHECK_EQUAL(*same, *r);
  for (auto bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0", "::1/129", "x",
                   "10.0.0.0/-1", "", "/8", "10.0.0.0/8 "})
    CAF_CHECK(!parse_ip_range(bad));
}

CAF_TEST(addresses are read in both families) {
  CAF_CHECK(parse_ip_address("10.1.2.3"));
  CAF_CHECK(parse_ip_address("fe80::1"));
  CAF_CHECK(parse_ip_address("::ffff:10.1.2.3")->embeds_v4());
  for (auto bad : {"", "10.1.2", "10.1.2.3.4", "x", "10.1.2.3/8"})
    CAF_CHECK(!parse_ip_address(bad));
  CAF_CHECK(!parse_ip_address(std::string("10.1.2.3\0", 9)));
  std::set<caf::ip_subnet> ranges{*parse_ip_range("10.0.0.0/8"),
                                  *parse_ip_range("fe80::/10")};
  CAF_CHECK(in_any_range(ranges, "10.9.9.9"));
  CAF_CHECK(in_any_range(ranges, "fe80::2"));
  CAF_CHECK(!in_any_range(ranges, "11.0.0.1"));
  CAF_CHECK(!in_any_range({}, "10.9.9.9"));
  CAF_CHECK(!in_any_range(ranges, "garbage"));
}
