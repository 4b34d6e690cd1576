#include "transports/noise/handshake.hpp"

#include <sodium.h>

#include <cstring>

namespace crust::noise {

namespace {

using t = token;

// The fundamental patterns of the Noise spec, section 7.
const std::vector<pattern>& patterns() {
  static const std::vector<pattern> all{
    {"N", {}, {t::s}, {{t::e, t::es}}, true},
    {"K", {t::s}, {t::s}, {{t::e, t::es, t::ss}}, true},
    {"X", {}, {t::s}, {{t::e, t::es, t::s, t::ss}}, true},
    {"NN", {}, {}, {{t::e}, {t::e, t::ee}}, false},
    {"NK", {}, {t::s}, {{t::e, t::es}, {t::e, t::ee}}, false},
    {"NX", {}, {}, {{t::e}, {t::e, t::ee, t::s, t::es}}, false},
    {"XN", {}, {}, {{t::e}, {t::e, t::ee}, {t::s, t::se}}, false},
    {"XK", {}, {t::s}, {{t::e, t::es}, {t::e, t::ee}, {t::s, t::se}}, false},
    {"XX", {}, {}, {{t::e}, {t::e, t::ee, t::s, t::es}, {t::s, t::se}},
     false},
    {"KN", {t::s}, {}, {{t::e}, {t::e, t::ee, t::se}}, false},
    {"KK", {t::s}, {t::s}, {{t::e, t::es, t::ss}, {t::e, t::ee, t::se}},
     false},
    {"KX", {t::s}, {}, {{t::e}, {t::e, t::ee, t::se, t::s, t::es}}, false},
    {"IN", {}, {}, {{t::e, t::s}, {t::e, t::ee, t::se}}, false},
    {"IK", {}, {t::s}, {{t::e, t::es, t::s, t::ss}, {t::e, t::ee, t::se}},
     false},
    {"IX", {}, {}, {{t::e, t::s}, {t::e, t::ee, t::se, t::s, t::es}}, false},
  };
  return all;
}

} // namespace

const pattern* find_pattern(const std::string& name) {
  for (auto& p : patterns())
    if (name == p.name)
      return &p;
  return nullptr;
}

handshake_state::handshake_state(handshake_config cfg) : cfg_(std::move(cfg)) {
  std::string name = std::string{"Noise_"} + cfg_.pat->name
                     + "_25519_ChaChaPoly_BLAKE2b";
  if (name.size() <= hash_len) {
    std::memcpy(h_.data(), name.data(), name.size());
  } else {
    h_ = hash(reinterpret_cast<const uint8_t*>(name.data()), name.size());
  }
  ck_ = h_;
  mix_hash(cfg_.prologue.data(), cfg_.prologue.size());
  // Pre-messages: the initiator's known keys first, then the responder's.
  auto pre = [&](const std::vector<token>& tokens, bool ours) {
    for (auto tk : tokens) {
      if (tk != t::s)
        continue;
      if (ours && cfg_.s)
        mix_hash(cfg_.s->pub.data(), key_len);
      else if (!ours && cfg_.rs)
        mix_hash(cfg_.rs->data(), key_len);
      else
        failed_ = true; // the pattern needs a key we were not given
    }
  };
  pre(cfg_.pat->initiator_pre, cfg_.initiator);
  pre(cfg_.pat->responder_pre, !cfg_.initiator);
}

handshake_state::~handshake_state() {
  wipe(ck_);
  if (cfg_.s)
    wipe(cfg_.s->secret);
  if (cfg_.e)
    wipe(cfg_.e->secret);
}

bool handshake_state::my_turn() const {
  if (finished())
    return false;
  bool initiators_turn = cfg_.pat->one_way || next_ % 2 == 0;
  return initiators_turn == cfg_.initiator;
}

void handshake_state::mix_hash(const uint8_t* data, size_t len) {
  crypto_generichash_blake2b_state st;
  crypto_generichash_blake2b_init(&st, nullptr, 0, hash_len);
  crypto_generichash_blake2b_update(&st, h_.data(), h_.size());
  crypto_generichash_blake2b_update(&st, data, len);
  crypto_generichash_blake2b_final(&st, h_.data(), h_.size());
}

void handshake_state::mix_key(const key& ikm) {
  digest out1, out2;
  hkdf(ck_, ikm.data(), ikm.size(), out1, out2);
  ck_ = out1;
  key k;
  std::memcpy(k.data(), out2.data(), key_len);
  cs_.initialize_key(k);
  wipe(k);
  wipe(out1);
  wipe(out2);
}

bool handshake_state::encrypt_and_hash(const uint8_t* plain, size_t len,
                                       std::vector<uint8_t>& out) {
  auto pos = out.size();
  if (!cs_.encrypt_with_ad(h_.data(), h_.size(), plain, len, out))
    return false;
  mix_hash(out.data() + pos, out.size() - pos);
  return true;
}

bool handshake_state::decrypt_and_hash(const uint8_t* cipher, size_t len,
                                       std::vector<uint8_t>& out) {
  if (!cs_.decrypt_with_ad(h_.data(), h_.size(), cipher, len, out))
    return false;
  mix_hash(cipher, len);
  return true;
}

bool handshake_state::mix_dh(token tk) {
  // Which of our keys meets which of theirs: the first letter names the
  // initiator's key, the second the responder's.
  bool init = cfg_.initiator;
  const keypair* mine = nullptr;
  const key* theirs = nullptr;
  switch (tk) {
    case t::ee:
      mine = cfg_.e ? &*cfg_.e : nullptr;
      theirs = re_ ? &*re_ : nullptr;
      break;
    case t::es:
      mine = init ? (cfg_.e ? &*cfg_.e : nullptr) : (cfg_.s ? &*cfg_.s : nullptr);
      theirs = init ? (cfg_.rs ? &*cfg_.rs : nullptr) : (re_ ? &*re_ : nullptr);
      break;
    case t::se:
      mine = init ? (cfg_.s ? &*cfg_.s : nullptr) : (cfg_.e ? &*cfg_.e : nullptr);
      theirs = init ? (re_ ? &*re_ : nullptr) : (cfg_.rs ? &*cfg_.rs : nullptr);
      break;
    case t::ss:
      mine = cfg_.s ? &*cfg_.s : nullptr;
      theirs = cfg_.rs ? &*cfg_.rs : nullptr;
      break;
    default:
      return false;
  }
  if (mine == nullptr || theirs == nullptr)
    return false;
  key shared;
  bool ok = dh(mine->secret, *theirs, shared);
  if (ok)
    mix_key(shared);
  wipe(shared);
  return ok;
}

bool handshake_state::write_message(const uint8_t* payload, size_t len,
                                    std::vector<uint8_t>& out) {
  if (failed_ || !my_turn())
    return false;
  auto start = out.size();
  for (auto tk : cfg_.pat->messages[next_]) {
    switch (tk) {
      case t::e:
        if (!cfg_.e)
          cfg_.e = keypair::generate();
        out.insert(out.end(), cfg_.e->pub.begin(), cfg_.e->pub.end());
        mix_hash(cfg_.e->pub.data(), key_len);
        break;
      case t::s:
        if (!cfg_.s || !encrypt_and_hash(cfg_.s->pub.data(), key_len, out))
          return fail(out, start);
        break;
      default:
        if (!mix_dh(tk))
          return fail(out, start);
    }
  }
  if (!encrypt_and_hash(payload, len, out) || out.size() - start > max_message_len)
    return fail(out, start);
  ++next_;
  return true;
}

bool handshake_state::read_message(const uint8_t* msg, size_t len,
                                   std::vector<uint8_t>& payload) {
  if (failed_ || finished() || my_turn() || len > max_message_len) {
    failed_ = true;
    return false;
  }
  size_t pos = 0;
  for (auto tk : cfg_.pat->messages[next_]) {
    switch (tk) {
      case t::e: {
        if (len - pos < key_len)
          return failed_ = true, false;
        key re;
        std::memcpy(re.data(), msg + pos, key_len);
        re_ = re;
        mix_hash(re.data(), key_len);
        pos += key_len;
        break;
      }
      case t::s: {
        size_t n = key_len + (cs_.has_key() ? tag_len : 0);
        std::vector<uint8_t> rs;
        if (len - pos < n || !decrypt_and_hash(msg + pos, n, rs))
          return failed_ = true, false;
        key k;
        std::memcpy(k.data(), rs.data(), key_len);
        cfg_.rs = k;
        pos += n;
        break;
      }
      default:
        if (!mix_dh(tk))
          return failed_ = true, false;
    }
  }
  if (!decrypt_and_hash(msg + pos, len - pos, payload))
    return failed_ = true, false;
  ++next_;
  return true;
}

bool handshake_state::fail(std::vector<uint8_t>& out, size_t start) {
  out.resize(start);
  failed_ = true;
  return false;
}

std::pair<cipher_state, cipher_state> handshake_state::split() const {
  digest out1, out2;
  hkdf(ck_, nullptr, 0, out1, out2);
  key k1, k2;
  std::memcpy(k1.data(), out1.data(), key_len);
  std::memcpy(k2.data(), out2.data(), key_len);
  std::pair<cipher_state, cipher_state> result;
  result.first.initialize_key(k1);
  result.second.initialize_key(k2);
  wipe(k1);
  wipe(k2);
  wipe(out1);
  wipe(out2);
  return result;
}

} // namespace crust::noise
