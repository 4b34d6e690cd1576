#include "nat/punch/rendezvous.hpp"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "crust/errors.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

using json = nlohmann::json;

constexpr char context[] = "crust-rendezvous";

caf::error bad(const std::string& why) {
  return make_error(errc::invalid_config, "connection info: " + why);
}

// The half as the signature covers it: an OFFER's body for round 1.
punch_signal as_signal(const rendezvous& r) {
  punch_signal s;
  s.kind = signal_kind::offer;
  s.attempt = r.attempt;
  s.round = 1;
  s.mapping = r.mapping;
  s.caps = r.caps;
  s.key = r.key;
  s.candidates = r.candidates;
  return s;
}

std::vector<uint8_t> signed_text(const std::string& network,
                                 const rendezvous& r) {
  std::vector<uint8_t> out(context, context + sizeof(context) - 1);
  out.push_back(wire::protocol_version);
  out.push_back(static_cast<uint8_t>(network.size()));
  out.insert(out.end(), network.begin(), network.end());
  out.insert(out.end(), r.peer.bytes.begin(), r.peer.bytes.end());
  auto body = signal_body(as_signal(r));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::string hex(const uint8_t* p, size_t n) {
  std::string out(2 * n + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

// Exactly 2 * N lowercase or uppercase hex digits.
template <size_t N>
bool unhex(const json& v, std::array<uint8_t, N>& out) {
  if (!v.is_string())
    return false;
  auto& text = v.get_ref<const std::string&>();
  size_t len = 0;
  return text.size() == 2 * N
         && sodium_hex2bin(out.data(), N, text.data(), text.size(), nullptr,
                           &len, nullptr)
              == 0
         && len == N;
}

std::optional<candidate_kind> kind_named(const std::string& name) {
  for (uint8_t k = 0; k <= max_candidate_kind; ++k)
    if (name == to_string(static_cast<candidate_kind>(k)))
      return static_cast<candidate_kind>(k);
  return std::nullopt;
}

const std::pair<const char*, uint8_t> cap_names[] = {
  {"tcp", cap_tcp}, {"udp", cap_udp}, {"birthday", cap_birthday}};

} // namespace

std::string encode_rendezvous(const identity& me, const std::string& network,
                              rendezvous r) {
  r.peer = me.id();
  if (r.candidates.size() > max_signal_candidates)
    r.candidates.resize(max_signal_candidates);
  auto sig = me.sign(signed_text(network, r));
  json caps = json::array();
  for (auto& [name, bit] : cap_names)
    if (r.caps & bit)
      caps.push_back(name);
  json cands = json::array();
  for (auto& c : r.candidates)
    cands.push_back(
      {{"endpoint", to_string(endpoint{c.proto, c.at.ip, c.at.port, {}})},
       {"kind", to_string(c.kind)},
       {"priority", c.priority}});
  json j = {{"peer_id", r.peer.to_hex()},
            {"attempt", hex(r.attempt.data(), r.attempt.size())},
            {"key", hex(r.key.data(), r.key.size())},
            {"mapping", to_string(r.mapping)},
            {"caps", std::move(caps)},
            {"candidates", std::move(cands)},
            {"signature", hex(sig.data(), sig.size())}};
  return j.dump();
}

caf::expected<rendezvous> decode_rendezvous(const std::string& network,
                                            std::string_view text) {
  if (text.size() > max_rendezvous_size)
    return bad("longer than " + std::to_string(max_rendezvous_size)
               + " bytes");
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return bad("not a JSON object");
  static const std::set<std::string> fields{"peer_id", "attempt",  "key",
                                            "mapping", "caps",     "candidates",
                                            "signature"};
  for (auto& [k, v] : j.items())
    if (fields.count(k) == 0)
      return bad("unknown field \"" + k + "\"");
  for (auto& f : fields)
    if (!j.contains(f))
      return bad("no \"" + f + "\"");
  rendezvous r;
  auto& pid = j["peer_id"];
  auto id = pid.is_string() ? peer_id::from_hex(pid.get<std::string>())
                            : std::nullopt;
  if (!id)
    return bad("peer_id is not a 64-digit hex peer id");
  r.peer = *id;
  if (!unhex(j["attempt"], r.attempt))
    return bad("attempt is not 32 hex digits");
  if (!unhex(j["key"], r.key))
    return bad("key is not 64 hex digits");
  auto& m = j["mapping"];
  if (!m.is_string())
    return bad("mapping is not text");
  r.mapping = parse_nat_mapping(m.get<std::string>());
  if (r.mapping == nat_mapping::unknown && m.get<std::string>() != "unknown")
    return bad("mapping \"" + m.get<std::string>() + "\" is unknown");
  auto& caps = j["caps"];
  if (!caps.is_array() || caps.size() > 3)
    return bad("caps is not a list of tcp, udp, birthday");
  for (auto& c : caps) {
    auto known = std::find_if(std::begin(cap_names), std::end(cap_names),
                              [&](auto& n) { return c == n.first; });
    if (known == std::end(cap_names) || (r.caps & known->second))
      return bad("caps is not a list of tcp, udp, birthday");
    r.caps |= known->second;
  }
  auto& cands = j["candidates"];
  if (!cands.is_array() || cands.size() > max_signal_candidates)
    return bad("candidates is not a list of at most "
               + std::to_string(max_signal_candidates));
  for (auto& c : cands) {
    if (!c.is_object() || c.size() != 3 || !c.contains("endpoint")
        || !c.contains("kind") || !c.contains("priority")
        || !c["endpoint"].is_string() || !c["kind"].is_string()
        || !c["priority"].is_number_unsigned()
        || c["priority"].get<uint64_t>() > UINT32_MAX)
      return bad("a candidate is not {endpoint, kind, priority}");
    auto at = endpoint::parse(c["endpoint"].get<std::string>());
    if (!at || at->pinned || at->proto == transport::relay)
      return bad("a candidate's endpoint is not tcp:// or udp://IP:PORT");
    auto kind = kind_named(c["kind"].get<std::string>());
    if (!kind)
      return bad("a candidate's kind is unknown");
    r.candidates.push_back(candidate{at->proto, ip_endpoint{at->host, at->port},
                                     *kind, c["priority"].get<uint32_t>()});
  }
  identity::signature sig;
  if (!unhex(j["signature"], sig))
    return bad("signature is not 128 hex digits");
  if (!identity::verify(r.peer, signed_text(network, r), sig.data()))
    return bad("the signature does not verify (another network, or altered)");
  return r;
}

rendezvous_attempt combine(const rendezvous& ours, const rendezvous& theirs) {
  rendezvous_attempt out;
  out.we_offer = ours.peer < theirs.peer;
  auto& low = out.we_offer ? ours : theirs;
  auto& high = out.we_offer ? theirs : ours;
  auto derive = [&](const char* label, uint8_t* dst, size_t n, auto& a,
                    auto& b) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, n);
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(label),
                              std::strlen(label));
    crypto_generichash_update(&st, a.data(), a.size());
    crypto_generichash_update(&st, b.data(), b.size());
    crypto_generichash_final(&st, dst, n);
  };
  derive("crust-rendezvous-attempt", out.id.data(), out.id.size(),
         low.attempt, high.attempt);
  derive("crust-rendezvous-key", out.key.data(), out.key.size(), low.key,
         high.key);
  out.theirs = as_signal(theirs);
  out.theirs.kind = out.we_offer ? signal_kind::answer : signal_kind::offer;
  out.theirs.attempt = out.id;
  out.theirs.key = out.key;
  return out;
}

} // namespace crust
