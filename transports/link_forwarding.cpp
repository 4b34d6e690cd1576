// The link's forwarding frames (FORWARD, FORWARDED, FORWARD_FAILED;
// docs/PROTOCOL.md, "Forwarding"): their bounds, the rate of a peer's
// FORWARDs, and the node's calls that send them. Part of `link`
// (transports/link.hpp); a file of its own because it is a concern of
// its own.
#include "transports/link.hpp"

#include <algorithm>

namespace crust {

namespace {

std::vector<uint8_t> id_then(const peer_id& id,
                             const std::vector<uint8_t>& rest) {
  std::vector<uint8_t> body(id.bytes.begin(), id.bytes.end());
  body.insert(body.end(), rest.begin(), rest.end());
  return body;
}

} // namespace

void link::forward(const peer_id& to, const std::vector<uint8_t>& payload) {
  if (phase_ == phase::kept && !payload.empty()
      && payload.size() <= wire::max_forward_payload)
    queue(0, wire::frame_type::forward, id_then(to, payload));
}

void link::pass_on(const peer_id& from, const std::vector<uint8_t>& payload) {
  if (phase_ == phase::kept && !payload.empty()
      && payload.size() <= wire::max_forward_payload)
    queue(0, wire::frame_type::forwarded, id_then(from, payload));
}

void link::refuse_forward(const peer_id& to, wire::forward_refusal why,
                          const std::vector<uint8_t>& context) {
  if (phase_ == phase::kept)
    queue_refusal(to, why, context);
}

void link::queue_refusal(const peer_id& to, wire::forward_refusal why,
                         const std::vector<uint8_t>& context) {
  // Never a word to a peer that has not proven who it is.
  if (phase_ != phase::negotiating && phase_ != phase::undecided
      && phase_ != phase::kept)
    return;
  std::vector<uint8_t> rest{static_cast<uint8_t>(why)};
  rest.insert(rest.end(), context.begin(),
              context.begin()
                + static_cast<ptrdiff_t>(
                  std::min(context.size(), wire::forward_context_size)));
  queue(0, wire::frame_type::forward_failed, id_then(to, rest));
}

// FORWARD, FORWARDED and FORWARD_FAILED: judged by their bounds first (a
// malformed one is a violation whatever the phase), then heard only from
// a kept peer. A FORWARD before our keep is refused; one over the rate is
// refused while refusals are within theirs, then dropped unanswered.
bool link::on_forwarding(const frame_view& f, time_point now) {
  using ft = wire::frame_type;
  constexpr size_t id_size = peer_id::size;
  auto payload_ok = [&](size_t header) {
    return f.size > header && f.size - header <= wire::max_forward_payload;
  };
  peer_id who;
  if (f.size >= id_size)
    std::copy(f.body, f.body + id_size, who.bytes.begin());
  auto rest = [&](size_t header) {
    return std::vector<uint8_t>(f.body + header, f.body + f.size);
  };
  switch (f.type) {
    case ft::forward: {
      if (!payload_ok(id_size))
        return violation("malformed FORWARD frame");
      auto context = std::vector<uint8_t>(
        f.body + id_size,
        f.body + id_size
          + std::min(f.size - id_size, wire::forward_context_size));
      if (!forwards_)
        forwards_ = std::make_unique<forward_meter>(forward_meter{
          token_bucket{wire::forward_rate, wire::forward_burst, now},
          token_bucket{wire::forward_refusal_rate, wire::forward_refusal_burst,
                       now}});
      if (!forwards_->asks.take(1, now)) {
        if (forwards_->refusals.take(1, now))
          queue_refusal(who, wire::forward_refusal::busy, context);
        return true;
      }
      if (phase_ != phase::kept) {
        queue_refusal(who, wire::forward_refusal::refused, context);
        return true;
      }
      events_.emplace_back(forward_requested{who, rest(id_size)});
      return true;
    }
    case ft::forwarded:
      if (!payload_ok(id_size))
        return violation("malformed FORWARDED frame");
      if (phase_ == phase::kept)
        events_.emplace_back(forwarded{who, rest(id_size)});
      return true;
    case ft::forward_failed: {
      if (f.size < id_size + 1
          || f.size > id_size + 1 + wire::forward_context_size
          || !wire::known_forward_refusal(f.body[id_size]))
        return violation("malformed FORWARD_FAILED frame");
      if (phase_ == phase::kept)
        events_.emplace_back(forward_failed{
          who, static_cast<wire::forward_refusal>(f.body[id_size]),
          rest(id_size + 1)});
      return true;
    }
    default:
      return violation("unexpected frame");
  }
}

} // namespace crust
