#include "nat/io/natpmp_gateway.hpp"

#include <arpa/inet.h>
#include <sys/select.h>

#include <algorithm>

#include "crust/errors.hpp"

namespace crust::nat {

namespace {

caf::error pmp_error(const std::string& what, int code) {
  return make_error(errc::unreachable, "NAT-PMP " + what + ": "
                                         + strnatpmperr(code));
}

int protocol_code(const std::string& protocol) {
  return protocol == "udp" || protocol == "UDP" ? NATPMP_PROTOCOL_UDP
                                                : NATPMP_PROTOCOL_TCP;
}

} // namespace

caf::expected<natpmp_gateway> natpmp_gateway::open() {
  natpmp_gateway g;
  auto r = initnatpmp(&g.p_, 0, 0);
  if (r < 0)
    return pmp_error("no gateway", r);
  g.open_ = true;
  return g;
}

natpmp_gateway::natpmp_gateway(natpmp_gateway&& other) noexcept
  : p_(other.p_), open_(other.open_) {
  other.open_ = false;
}

natpmp_gateway::~natpmp_gateway() {
  if (open_)
    closenatpmp(&p_);
}

std::string natpmp_gateway::gateway() const {
  in_addr a{};
  a.s_addr = p_.gateway;
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, text, sizeof(text));
  return text;
}

caf::expected<natpmpresp_t>
natpmp_gateway::await(const std::string& what,
                      std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + timeout;
  natpmpresp_t resp{};
  // Bounded: each pass waits for an answer or libnatpmp's next resend.
  for (int pass = 0; pass < 64; ++pass) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(
      deadline - clock::now());
    if (left.count() <= 0)
      break;
    timeval tv{};
    getnatpmprequesttimeout(&p_, &tv);
    auto lib = std::chrono::seconds(tv.tv_sec)
               + std::chrono::microseconds(tv.tv_usec);
    auto wait = std::min<std::chrono::microseconds>(left, lib);
    tv.tv_sec = static_cast<time_t>(wait.count() / 1000000);
    tv.tv_usec = static_cast<suseconds_t>(wait.count() % 1000000);
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(p_.s, &fds);
    select(p_.s + 1, &fds, nullptr, nullptr, &tv);
    auto r = readnatpmpresponseorretry(&p_, &resp);
    if (r == 0)
      return resp;
    if (r != NATPMP_TRYAGAIN)
      return pmp_error(what, r);
  }
  return make_error(errc::unreachable,
                    "NAT-PMP " + what + ": no answer from " + gateway()
                      + " within " + std::to_string(timeout.count()) + " ms");
}

caf::expected<std::string>
natpmp_gateway::external_ip(std::chrono::milliseconds timeout) {
  auto r = sendpublicaddressrequest(&p_);
  if (r < 0)
    return pmp_error("public address", r);
  auto resp = await("public address", timeout);
  if (!resp)
    return resp.error();
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &resp->pnu.publicaddress.addr, text, sizeof(text));
  return std::string{text};
}

caf::expected<natpmp_gateway::granted>
natpmp_gateway::map(const std::string& protocol, uint16_t port,
                    uint32_t lease, std::chrono::milliseconds timeout) {
  auto what = "mapping " + protocol + " " + std::to_string(port);
  auto r = sendnewportmappingrequest(&p_, protocol_code(protocol), port, port,
                                     lease);
  if (r < 0)
    return pmp_error(what, r);
  auto resp = await(what, timeout);
  if (!resp)
    return resp.error();
  return granted{resp->pnu.newportmapping.mappedpublicport,
                 resp->pnu.newportmapping.lifetime};
}

caf::error natpmp_gateway::unmap(const std::string& protocol, uint16_t port,
                                 std::chrono::milliseconds timeout) {
  auto what = "unmapping " + protocol + " " + std::to_string(port);
  auto r = sendnewportmappingrequest(&p_, protocol_code(protocol), port, 0, 0);
  if (r < 0)
    return pmp_error(what, r);
  auto resp = await(what, timeout);
  return resp ? caf::none : resp.error();
}

} // namespace crust::nat
