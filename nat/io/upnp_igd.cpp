#include "nat/io/upnp_igd.hpp"

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include "crust/errors.hpp"

namespace crust::nat {

namespace {

// UPnP's error for "this IGD only grants permanent mappings".
constexpr int only_permanent_leases = 725;

caf::error upnp_error(const std::string& what, int code) {
  auto text = strupnperror(code);
  return make_error(errc::unreachable,
                    "UPnP " + what + ": " + std::to_string(code)
                      + (text ? std::string{" "} + text : std::string{}));
}

} // namespace

struct upnp_igd::impl {
  UPNPUrls urls{};
  IGDdatas data{};
  std::string lan;
  std::string control;
  ~impl() {
    FreeUPNPUrls(&urls);
  }
};

upnp_igd::upnp_igd(std::unique_ptr<impl> x) : impl_(std::move(x)) {
  // nop
}

upnp_igd::upnp_igd(upnp_igd&&) noexcept = default;
upnp_igd& upnp_igd::operator=(upnp_igd&&) noexcept = default;
upnp_igd::~upnp_igd() = default;

caf::expected<upnp_igd> upnp_igd::discover(std::chrono::milliseconds timeout) {
  int err = 0;
  auto delay = static_cast<int>(std::max<long>(timeout.count(), 100));
  UPNPDev* devices = upnpDiscover(delay, nullptr, nullptr, UPNP_LOCAL_PORT_ANY,
                                  0, 2, &err);
  if (!devices)
    return make_error(errc::unreachable,
                      "UPnP: no device answered within "
                        + std::to_string(timeout.count()) + " ms");
  auto x = std::make_unique<impl>();
  char lan[64] = {0};
  auto found = UPNP_GetValidIGD(devices, &x->urls, &x->data, lan, sizeof(lan));
  freeUPNPDevlist(devices);
  if (found != 1 && found != 2) {
    if (found != 0)
      FreeUPNPUrls(&x->urls);
    x->urls = UPNPUrls{};
    return make_error(errc::unreachable, "UPnP: devices answered but none "
                                         "is an Internet Gateway Device");
  }
  x->lan = lan;
  x->control = x->urls.controlURL ? x->urls.controlURL : "";
  return upnp_igd{std::move(x)};
}

const std::string& upnp_igd::lan_address() const {
  return impl_->lan;
}

const std::string& upnp_igd::control_url() const {
  return impl_->control;
}

caf::expected<std::string> upnp_igd::external_ip() {
  char ip[40] = {0};
  auto r = UPNP_GetExternalIPAddress(impl_->urls.controlURL,
                                     impl_->data.first.servicetype, ip);
  if (r != UPNPCOMMAND_SUCCESS)
    return upnp_error("GetExternalIPAddress", r);
  if (ip[0] == '\0')
    return make_error(errc::unreachable, "UPnP: the IGD has no external "
                                         "address");
  return std::string{ip};
}

caf::expected<uint32_t> upnp_igd::add(const std::string& protocol,
                                      uint16_t port, uint32_t lease,
                                      const std::string& description) {
  auto p = std::to_string(port);
  auto try_lease = [&](uint32_t seconds) {
    auto l = std::to_string(seconds);
    return UPNP_AddPortMapping(impl_->urls.controlURL,
                               impl_->data.first.servicetype, p.c_str(),
                               p.c_str(), impl_->lan.c_str(),
                               description.c_str(), protocol.c_str(), nullptr,
                               l.c_str());
  };
  auto r = try_lease(lease);
  if (r == only_permanent_leases && lease != 0) {
    lease = 0;
    r = try_lease(0);
  }
  if (r != UPNPCOMMAND_SUCCESS)
    return upnp_error("AddPortMapping " + protocol + " " + p, r);
  return lease;
}

caf::error upnp_igd::remove(const std::string& protocol, uint16_t port) {
  auto p = std::to_string(port);
  auto r = UPNP_DeletePortMapping(impl_->urls.controlURL,
                                  impl_->data.first.servicetype, p.c_str(),
                                  protocol.c_str(), nullptr);
  if (r != UPNPCOMMAND_SUCCESS)
    return upnp_error("DeletePortMapping " + protocol + " " + p, r);
  return caf::none;
}

} // namespace crust::nat
