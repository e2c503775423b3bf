#include "base/sha256.hpp"

#include <cstdint>

namespace cexec {

namespace {

std::string to_hex(const uint8_t* bytes, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

}  // namespace

Sha256::Sha256() {
  sha256_init(&_ctx);
}

void Sha256::update(std::string_view data) {
  sha256_update(&_ctx, data.size(), reinterpret_cast<const uint8_t*>(data.data()));
}

std::string Sha256::hex_digest() {
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&_ctx, sizeof digest, digest);
  return "sha256:" + to_hex(digest, sizeof digest);
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest().substr(7);
}

}  // namespace cexec
