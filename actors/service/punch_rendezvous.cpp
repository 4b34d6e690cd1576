// The service's hole punching: attempts the application signals itself
// (prepare_connection_info, connect_with; punch_part.hpp,
// nat/punch/rendezvous).
#include "actors/service/punch_part.hpp"
#include "actors/service/state.hpp"

#include <caf/all.hpp>

#include <sodium.h>

#include <algorithm>

#include "crust/errors.hpp"
#include "nat/punch/rendezvous.hpp"

namespace crust {

namespace {

std::string error_text(const caf::error& err) {
  return error_detail(err).value_or("connection info is invalid");
}

} // namespace

// -- attempts the application signals ----------------------------------------

rendezvous_info punch_part::prepare() {
  auto& st = self_->state;
  auto now = self_->clock().now();
  // Forget what expired, then the oldest beyond the cap.
  for (auto i = prepared_.begin(); i != prepared_.end();)
    i = now - i->second > prepared_lifetime ? prepared_.erase(i) : std::next(i);
  while (prepared_.size() >= max_prepared)
    prepared_.erase(std::min_element(
      prepared_.begin(), prepared_.end(),
      [](auto& a, auto& b) { return a.second < b.second; }));
  rendezvous r;
  randombytes_buf(r.attempt.data(), r.attempt.size());
  randombytes_buf(r.key.data(), r.key.size());
  auto li = our_info(st.id); // udp_dialer is decided later
  r.mapping = li.mapping;
  r.caps = li.caps;
  r.candidates = std::move(li.candidates);
  prepared_[r.attempt] = now;
  return rendezvous_info{st.id,
                         encode_rendezvous(*st.me, st.opts.network_name, r)};
}

void punch_part::connect_with(const crust::connect_with& cmd) {
  auto& st = self_->state;
  auto theirs = decode_rendezvous(st.opts.network_name, cmd.theirs);
  if (!theirs)
    return self_->send(st.handler,
                       connection_failed{"connection-info",
                                         "their " + error_text(theirs.error())});
  auto& peer = theirs->peer;
  auto ours = decode_rendezvous(st.opts.network_name, cmd.ours);
  if (!ours)
    return fail(peer, "our " + error_text(ours.error()));
  auto mine = prepared_.find(ours->attempt);
  if (ours->peer != st.id || mine == prepared_.end()
      || self_->clock().now() - mine->second > prepared_lifetime)
    return fail(peer, "our connection info is not one this node prepared "
                      "(or it was used, or is older than ten minutes)");
  if (peer == st.id)
    return fail(peer, "that is this node's own connection info");
  prepared_.erase(mine); // one attempt per half
  if (st.conns->live(peer))
    return; // connected already
  for (auto& [id, rec] : attempts_)
    if (rec.peer == peer)
      return fail(peer, "a hole punch with that peer runs already");
  if (attempts_.size() >= max_attempts)
    return fail(peer, "too many hole punches at once");
  if (st.listen->bound_port() == 0)
    return fail(peer, "not listening yet");
  auto a = combine(*ours, *theirs);
  spawn_attempt(a.we_offer, a.id, a.key, peer, {}, a.theirs, true);
}

} // namespace crust
