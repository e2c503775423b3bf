// The layer cache: registry blobs (manifests, configs, layers) stored once by digest.
//
//   DIR/blobs/sha256/HEX   verified content, never changed once there (written to DIR/tmp, checked
//                          against its digest and size, then renamed into place)
//   DIR/tmp/HEX.partial    a download in progress; the next holder of HEX's lock resumes it
//   DIR/locks/HEX.lock     flock(2) held by the one process downloading HEX; the kernel drops it
//                          when that process dies, and its holder removes the file when done
//   DIR/images/NAME.json   which manifest and blobs each pulled reference resolved to (cache list)
//   DIR/.lock              shared-locked by every pull, exclusive by `cexec cache clean`
//
// DIR is $CEXEC_CACHE_DIR, else $XDG_CACHE_HOME/cexec, else ~/.cache/cexec. An admin's shared cache
// (cexec.conf `registry-shared-cache`, same layout, read-only to users) is looked in first.
#pragma once

#include "manifest.hpp"
#include "base/sha256.hpp"
#include "base/sys/fd.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cexec::registry {

struct CacheDirs {
  std::string user;    // written
  std::string shared;  // read only; empty when none
};

// Where the user's cache is, from the environment ("NAME=VALUE" strings). Throws Error(usage) when
// neither CEXEC_CACHE_DIR, XDG_CACHE_HOME nor an absolute HOME is set.
CacheDirs cache_dirs(const std::vector<std::string>& env, const std::string& shared);

// A download in progress: bytes already in the file (from an interrupted pull) are hashed already.
struct PartialBlob {
  sys::Fd fd;
  uint64_t size = 0;
  Sha256 hash;
  void restart();  // empties the file (the server ignored a range request)
};

class BlobCache {
 public:
  explicit BlobCache(CacheDirs dirs);  // creates the user's directories; takes the shared lock

  // The verified file for `blob`, downloading it with `download` when no cache holds it. Only one
  // process downloads a blob at a time; the others wait for its lock and then find the file.
  // Returns the path, and sets `downloaded` when this call fetched it.
  using Download = std::function<void(PartialBlob&)>;
  std::string fetch(const Descriptor& blob, const Download& download, bool& downloaded);

  // Stores content already checked against `digest` (a manifest); returns its path.
  std::string store(const std::string& digest, std::string_view content);

  // The blob's path when a cache holds it (with the expected size).
  std::optional<std::string> find(const Descriptor& blob) const;

  void record_image(const std::string& reference, const std::string& manifest_digest,
                    const std::vector<std::string>& blobs, const std::string& pulled_at);

  const CacheDirs& dirs() const { return _dirs; }

 private:
  std::string commit(PartialBlob& partial, const Descriptor& blob, const std::string& partial_path);
  CacheDirs _dirs;
  sys::Fd _cache_lock;
};

// `cexec cache list`: the blobs with their sizes and the images that use them.
std::string describe_cache(const CacheDirs& dirs);
// `cexec cache clean`: removes the user's cache content; refused while a pull holds it.
// Returns the number of bytes freed.
uint64_t clean_cache(const CacheDirs& dirs);

}  // namespace cexec::registry
