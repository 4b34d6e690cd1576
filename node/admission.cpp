#include "node/admission.hpp"

#include "crust/errors.hpp"

namespace crust {

namespace {

using entry = std::pair<std::optional<peer_id>, std::optional<caf::ip_subnet>>;

caf::expected<std::vector<entry>>
parse_entries(const std::vector<std::string>& entries) {
  std::vector<entry> result;
  for (auto& text : entries) {
    if (auto id = peer_id::from_hex(text)) {
      result.emplace_back(*id, std::nullopt);
      continue;
    }
    if (auto range = parse_ip_range(text)) {
      result.emplace_back(std::nullopt, *range);
      continue;
    }
    return make_error(errc::invalid_config,
                      "\"" + text
                        + "\" is neither a peer id (64 hex digits) nor an IP "
                          "address or CIDR range");
  }
  return result;
}

} // namespace

admission::verdict admission::admit(const std::string& ip) {
  if (blocked(ip))
    return verdict::blacklisted;
  if (!may_be_allowed(ip))
    return verdict::not_allowed;
  // Only admitted addresses get an entry: refusals must not grow the map.
  per_ip none;
  auto i = ips_.find(ip);
  auto& st = i != ips_.end() ? i->second : none;
  if (st.half_open + st.established >= limits_.connections_per_ip)
    return verdict::too_many_connections;
  if (st.half_open >= limits_.half_open_per_ip)
    return verdict::too_many_half_open_ip;
  if (half_open_total_ + established_total_ >= limits_.connections_total)
    return verdict::too_many_connections_total;
  if (half_open_total_ >= limits_.half_open_total)
    return verdict::too_many_half_open_total;
  ++ips_[ip].half_open;
  ++half_open_total_;
  return verdict::admit;
}

void admission::established(const std::string& ip) {
  auto i = ips_.find(ip);
  if (i == ips_.end() || i->second.half_open == 0)
    return;
  --i->second.half_open;
  --half_open_total_;
  ++i->second.established;
  ++established_total_;
}

void admission::closed(const std::string& ip, bool was_established) {
  auto i = ips_.find(ip);
  if (i == ips_.end())
    return;
  auto& st = i->second;
  if (was_established && st.established > 0) {
    --st.established;
    --established_total_;
  } else if (!was_established && st.half_open > 0) {
    --st.half_open;
    --half_open_total_;
  }
  if (st.half_open == 0 && st.established == 0)
    ips_.erase(i);
}

caf::expected<size_t>
admission::blacklist(const std::vector<std::string>& entries) {
  auto parsed = parse_entries(entries);
  if (!parsed)
    return parsed.error();
  for (auto& [id, range] : *parsed) {
    if (id)
      peers_.insert(*id);
    else
      ranges_.insert(*range);
  }
  return parsed->size();
}

caf::expected<size_t>
admission::unblacklist(const std::vector<std::string>& entries) {
  auto parsed = parse_entries(entries);
  if (!parsed)
    return parsed.error();
  size_t removed = 0;
  for (auto& [id, range] : *parsed)
    removed += id ? peers_.erase(*id) : ranges_.erase(*range);
  return removed;
}

bool admission::blocked(const std::string& ip) const {
  return in_any_range(ranges_, ip);
}

bool admission::blocked(const peer_id& peer) const {
  return peers_.count(peer) > 0;
}

caf::error admission::allow_only(const std::vector<std::string>& entries) {
  auto parsed = parse_entries(entries);
  if (!parsed)
    return parsed.error();
  allowed_peers_.clear();
  allowed_ranges_.clear();
  for (auto& [id, range] : *parsed) {
    if (id)
      allowed_peers_.insert(*id);
    else
      allowed_ranges_.insert(*range);
  }
  return caf::none;
}

bool admission::may_be_allowed(const std::string& ip) const {
  // Any address may carry an allowed peer id; only the handshake tells.
  if (!allow_mode() || !allowed_peers_.empty())
    return true;
  return in_any_range(allowed_ranges_, ip);
}

bool admission::allowed(const std::string& ip, const peer_id& peer) const {
  if (!allow_mode() || allowed_peers_.count(peer) > 0)
    return true;
  return in_any_range(allowed_ranges_, ip);
}

std::string to_string(admission::verdict x) {
  switch (x) {
    case admission::verdict::admit:
      return "admitted";
    case admission::verdict::blacklisted:
      return "blacklisted";
    case admission::verdict::too_many_connections:
      return "too many connections from this address";
    case admission::verdict::too_many_half_open_ip:
      return "too many handshakes in flight from this address";
    case admission::verdict::too_many_connections_total:
      return "too many connections";
    case admission::verdict::too_many_half_open_total:
      return "too many handshakes in flight";
    case admission::verdict::not_allowed:
      return "not on the allow list";
  }
  return "unknown";
}

} // namespace crust
