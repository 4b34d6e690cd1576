#include "discovery/peer_exchange.hpp"

#include <algorithm>

#include "crust/errors.hpp"
#include "transports/bytes.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

constexpr char context[] = "crust-peers";

// What the signature covers: a context string, the protocol version, the
// network name, the signer, then the body before the signature.
std::vector<uint8_t> signed_text(const std::string& network,
                                 const peer_id& signer, const uint8_t* body,
                                 size_t size) {
  std::vector<uint8_t> out(context, context + sizeof(context) - 1);
  out.push_back(wire::protocol_version);
  out.push_back(static_cast<uint8_t>(network.size()));
  out.insert(out.end(), network.begin(), network.end());
  out.insert(out.end(), signer.bytes.begin(), signer.bytes.end());
  out.insert(out.end(), body, body + size);
  return out;
}

caf::error bad(const std::string& why) {
  return make_error(errc::invalid_config, "PEERS: " + why);
}

} // namespace

std::vector<uint8_t> encode_peers(const identity& me, const std::string& network,
                                  uint64_t unix_time,
                                  const std::vector<exchange_entry>& entries) {
  std::vector<uint8_t> body;
  bytes::put<uint64_t>(body, unix_time);
  auto n = std::min(entries.size(), wire::max_exchange_entries);
  body.push_back(static_cast<uint8_t>(n));
  for (size_t i = 0; i < n; ++i) {
    auto& e = entries[i];
    auto where = e.at;
    where.pinned = caf::none;
    auto text = to_string(where);
    body.insert(body.end(), e.peer.bytes.begin(), e.peer.bytes.end());
    body.push_back(static_cast<uint8_t>(std::min<size_t>(text.size(), 255)));
    body.insert(body.end(), text.begin(),
                text.begin() + static_cast<ptrdiff_t>(std::min<size_t>(text.size(), 255)));
  }
  auto sig = me.sign(signed_text(network, me.id(), body.data(), body.size()));
  body.insert(body.end(), sig.begin(), sig.end());
  return body;
}

caf::expected<std::vector<exchange_entry>>
decode_peers(const peer_id& sender, const std::string& network,
             const uint8_t* body, size_t size) {
  if (size < 9 + identity::signature_size)
    return bad("too short");
  auto signed_size = size - identity::signature_size;
  if (!identity::verify(sender,
                        signed_text(network, sender, body, signed_size),
                        body + signed_size))
    return bad("the signature does not verify");
  size_t pos = 8; // the timestamp: for people reading captures
  size_t n = body[pos++];
  if (n > wire::max_exchange_entries)
    return bad("more than " + std::to_string(wire::max_exchange_entries)
               + " entries");
  std::vector<exchange_entry> result;
  for (size_t i = 0; i < n; ++i) {
    if (pos + peer_id::size + 1 > signed_size)
      return bad("truncated");
    exchange_entry e;
    std::copy(body + pos, body + pos + peer_id::size, e.peer.bytes.begin());
    pos += peer_id::size;
    size_t len = body[pos++];
    if (pos + len > signed_size)
      return bad("truncated");
    std::string text(reinterpret_cast<const char*>(body + pos), len);
    pos += len;
    auto ep = endpoint::parse(text);
    if (!ep || ep->pinned)
      continue; // not something we can dial: left out
    e.at = *ep;
    result.push_back(std::move(e));
  }
  if (pos != signed_size)
    return bad("trailing bytes");
  return result;
}

} // namespace crust
