#include "discovery/peer_cache.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "crust/errors.hpp"

namespace crust {

namespace {

constexpr const char* format_name = "crust-bootstrap-cache";
constexpr int format_version = 1;

caf::error unusable(const std::string& why) {
  return make_error(errc::invalid_config, why);
}

// A member, or null when absent: json::value() throws on a type mismatch.
nlohmann::json member(const nlohmann::json& obj, const char* key) {
  auto i = obj.find(key);
  return i == obj.end() ? nlohmann::json{} : *i;
}

// A value quoted for an error message, never longer than a line.
std::string quote(const nlohmann::json& x) {
  auto text = x.dump();
  return text.size() <= 60 ? text : text.substr(0, 57) + "...";
}

} // namespace

void peer_cache::succeeded(const peer_id& peer, const endpoint& at,
                           int64_t now) {
  auto where = at;
  where.pinned = caf::none; // the entry's id pins it when dialled
  auto i = std::find_if(entries_.begin(), entries_.end(),
                        [&](const cache_entry& e) { return e.peer == peer; });
  if (i == entries_.end()) {
    entries_.push_back(cache_entry{peer, {where}, now, 0});
  } else {
    auto& eps = i->endpoints;
    eps.erase(std::remove(eps.begin(), eps.end(), where), eps.end());
    eps.insert(eps.begin(), where);
    if (eps.size() > max_endpoints)
      eps.resize(max_endpoints);
    i->last_success = std::max(i->last_success, now);
    i->failures = 0;
  }
  trim();
}

void peer_cache::moved(const peer_id& peer,
                       const std::vector<endpoint>& now_at) {
  auto i = std::find_if(entries_.begin(), entries_.end(),
                        [&](const cache_entry& e) { return e.peer == peer; });
  if (i == entries_.end() || now_at.empty())
    return;
  auto known_host = [&](const endpoint& ep) {
    return std::any_of(i->endpoints.begin(), i->endpoints.end(),
                       [&](const endpoint& old) { return old.host == ep.host; });
  };
  std::vector<endpoint> eps;
  auto add = [&](const endpoint& ep) {
    auto where = ep;
    where.pinned = caf::none;
    if (eps.size() < max_endpoints
        && std::find(eps.begin(), eps.end(), where) == eps.end())
      eps.push_back(where);
  };
  for (auto& ep : now_at)
    if (known_host(ep))
      add(ep);
  for (auto& ep : now_at)
    if (!known_host(ep))
      add(ep);
  i->endpoints = std::move(eps);
}

void peer_cache::learned(const peer_id& peer, const endpoint& at) {
  auto known = std::any_of(entries_.begin(), entries_.end(),
                           [&](const cache_entry& e) { return e.peer == peer; });
  if (known)
    return;
  auto where = at;
  where.pinned = caf::none;
  entries_.push_back(cache_entry{peer, {where}, 0, 0});
  trim();
}

void peer_cache::failed(const peer_id& peer) {
  auto i = std::find_if(entries_.begin(), entries_.end(),
                        [&](const cache_entry& e) { return e.peer == peer; });
  if (i == entries_.end())
    return;
  if (++i->failures >= max_failures)
    entries_.erase(i);
}

void peer_cache::forget(const peer_id& peer) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const cache_entry& e) {
                                  return e.peer == peer;
                                }),
                 entries_.end());
}

int64_t peer_cache::score(const cache_entry& e) {
  return e.last_success - int64_t{e.failures} * failure_penalty;
}

std::vector<cache_entry> peer_cache::ranked() const {
  auto result = entries_;
  std::stable_sort(result.begin(), result.end(),
                   [](const cache_entry& a, const cache_entry& b) {
                     return score(a) > score(b);
                   });
  return result;
}

void peer_cache::trim() {
  if (entries_.size() <= capacity_)
    return;
  entries_ = ranked();
  entries_.resize(capacity_);
}

std::string peer_cache::to_json(const std::string& network) const {
  nlohmann::json peers = nlohmann::json::array();
  for (auto& e : ranked()) {
    nlohmann::json eps = nlohmann::json::array();
    for (auto& ep : e.endpoints)
      eps.push_back(to_string(ep));
    peers.push_back({{"id", e.peer.to_hex()},
                     {"endpoints", eps},
                     {"last_success", e.last_success},
                     {"failures", e.failures}});
  }
  nlohmann::json doc{{"format", format_name},
                     {"version", format_version},
                     {"network", network},
                     {"peers", peers}};
  return doc.dump(1) + "\n";
}

caf::expected<peer_cache> peer_cache::from_json(const std::string& text,
                                                const std::string& network,
                                                size_t capacity) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded())
    return unusable("not JSON");
  if (!doc.is_object() || member(doc, "format") != format_name)
    return unusable("not a crust bootstrap cache");
  if (member(doc, "version") != format_version)
    return unusable("cache format version " + quote(member(doc, "version"))
                    + ", this build reads " + std::to_string(format_version));
  if (member(doc, "network") != network)
    return unusable("the cache of network " + quote(member(doc, "network"))
                    + ", not of \"" + network + "\"");
  auto peers = doc.find("peers");
  if (peers == doc.end() || !peers->is_array())
    return unusable("no list of peers");
  peer_cache result{capacity};
  size_t index = 0;
  for (auto& p : *peers) {
    auto bad = [&](const std::string& what) {
      return unusable("peer " + std::to_string(index) + ": " + what);
    };
    ++index;
    if (!p.is_object())
      return bad("not an object");
    auto id = member(p, "id");
    auto peer = id.is_string() ? peer_id::from_hex(id.get<std::string>())
                               : std::nullopt;
    if (!peer)
      return bad("no peer id");
    auto last = member(p, "last_success");
    auto fails = member(p, "failures");
    auto eps = member(p, "endpoints");
    if (!last.is_number_integer() || !fails.is_number_unsigned()
        || !eps.is_array() || eps.empty())
      return bad("missing or mistyped fields");
    cache_entry e{*peer, {}, last.get<int64_t>(), 0};
    auto failures = fails.get<uint64_t>();
    if (failures >= max_failures)
      continue; // it would have been forgotten
    e.failures = static_cast<uint32_t>(failures);
    for (auto& ep : eps) {
      if (!ep.is_string())
        return bad("an endpoint is not text");
      auto parsed = endpoint::parse(ep.get<std::string>());
      if (!parsed || parsed->pinned)
        return bad("bad endpoint " + quote(ep));
      if (e.endpoints.size() < max_endpoints)
        e.endpoints.push_back(*parsed);
    }
    auto dup = std::any_of(result.entries_.begin(), result.entries_.end(),
                           [&](const cache_entry& x) { return x.peer == e.peer; });
    if (dup)
      return bad("listed twice");
    result.entries_.push_back(std::move(e));
  }
  result.trim();
  return result;
}

} // namespace crust
