#include "transports/noise/cipher_state.hpp"

#include <limits>

namespace crust::noise {

namespace {

constexpr uint64_t reserved_nonce = std::numeric_limits<uint64_t>::max();

} // namespace

cipher_state::~cipher_state() {
  wipe(k_);
}

void cipher_state::initialize_key(const key& k) {
  k_ = k;
  n_ = 0;
  has_key_ = true;
}

bool cipher_state::encrypt_with_ad(const uint8_t* ad, size_t ad_len,
                                   const uint8_t* plain, size_t len,
                                   std::vector<uint8_t>& out) {
  if (!has_key_) {
    out.insert(out.end(), plain, plain + len);
    return true;
  }
  if (n_ == reserved_nonce)
    return false;
  encrypt(k_, n_, ad, ad_len, plain, len, out);
  ++n_;
  return true;
}

bool cipher_state::encrypt_in_place(const uint8_t* ad, size_t ad_len,
                                    uint8_t* data, size_t len) {
  if (!has_key_ || n_ == reserved_nonce)
    return false;
  crust::noise::encrypt_in_place(k_, n_, ad, ad_len, data, len);
  ++n_;
  return true;
}

bool cipher_state::decrypt_with_ad(const uint8_t* ad, size_t ad_len,
                                   const uint8_t* cipher, size_t len,
                                   std::vector<uint8_t>& out) {
  if (!has_key_) {
    out.insert(out.end(), cipher, cipher + len);
    return true;
  }
  if (n_ == reserved_nonce || !decrypt(k_, n_, ad, ad_len, cipher, len, out))
    return false;
  ++n_;
  return true;
}

bool cipher_state::decrypt_in_place(const uint8_t* ad, size_t ad_len,
                                    uint8_t* data, size_t len) {
  if (!has_key_ || n_ == reserved_nonce
      || !crust::noise::decrypt_in_place(k_, n_, ad, ad_len, data, len))
    return false;
  ++n_;
  return true;
}

void cipher_state::rekey() {
  uint8_t zeros[key_len] = {0};
  std::vector<uint8_t> out;
  encrypt(k_, reserved_nonce, nullptr, 0, zeros, sizeof(zeros), out);
  std::copy(out.begin(), out.begin() + key_len, k_.begin());
  std::fill(out.begin(), out.end(), 0);
}

} // namespace crust::noise
