// What identifies an image file cheaply for the node-instance key: its device, inode, size and
// modification time (a rebuilt image gets a new instance), and the SquashFS offset inside it.
#pragma once

#include <cstdint>

namespace cexec {

struct ImageIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t offset = 0;  // where the SquashFS starts: a SIF's primary partition, else 0
  bool operator==(const ImageIdentity&) const = default;
};

}  // namespace cexec
