// SHA-256 (FIPS 180-4), incremental, pure: the image digest `cexec build` prints and `cexec inspect`
// recomputes from the file (a digest cannot live inside the image it covers).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cexec::build {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  // "sha256:<64 lowercase hex>"; call once, after the last update.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> _h;
  std::array<uint8_t, 64> _buffer{};
  size_t _buffered = 0;
  uint64_t _length = 0;
};

}  // namespace cexec::build
