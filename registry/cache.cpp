#include "cache.hpp"

#include "base/environment.hpp"
#include "base/error.hpp"
#include "base/sys/syscalls.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec::registry {

namespace {

constexpr mode_t dir_mode = 0700;  // pulled images may be private: the cache is the user's alone

std::string hex_of(const std::string& digest) {
  return digest.substr(digest.find(':') + 1);
}

std::string env_get(const std::vector<std::string>& env, const std::string& name) {
  return std::string(try_environ_value(env, name).value_or(""));
}

void make_dirs(const std::string& path) {
  std::string prefix;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    prefix = path.substr(0, pos);
    if (!prefix.empty()) {
      sys::mkdir_at(AT_FDCWD, prefix, dir_mode);
    }
  }
}

// The per-blob lock: held while one process downloads the blob; its file is removed by the holder
// when done (a waiter that then gets the lock on the removed file takes a fresh one).
class BlobLock {
 public:
  explicit BlobLock(std::string path) : _path(std::move(path)) {
    for (;;) {
      _fd = sys::open_path(_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      sys::lock_file(_fd.get(), true, true);
      auto now = sys::try_stat(_path);
      struct stat held = sys::stat_fd(_fd.get());
      if (now && now->st_ino == held.st_ino && now->st_dev == held.st_dev) {
        return;
      }
    }
  }
  ~BlobLock() {
    try {
      sys::try_unlink(_path);  // before the descriptor (and with it the lock) goes
    } catch (const SysError&) {
      // a lock file left behind is harmless: the next holder takes it over
    }
  }
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  std::string _path;
  sys::Fd _fd;
};

std::string human_size(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  }
  return buf;
}

}  // namespace

CacheDirs cache_dirs(const std::vector<std::string>& env, const std::string& shared) {
  CacheDirs dirs;
  dirs.shared = shared;
  if (std::string d = env_get(env, "CEXEC_CACHE_DIR"); !d.empty()) {
    dirs.user = d;
  } else if (std::string x = env_get(env, "XDG_CACHE_HOME"); x.starts_with('/')) {
    dirs.user = x + "/cexec";
  } else if (std::string h = env_get(env, "HOME"); h.starts_with('/') && h != "/nonexistent") {
    dirs.user = h + "/.cache/cexec";
  } else {
    throw Error(ErrorKind::usage, "no cache directory for registry blobs: set CEXEC_CACHE_DIR (HOME is not usable)");
  }
  if (!dirs.user.starts_with('/')) {
    throw Error(ErrorKind::usage, "CEXEC_CACHE_DIR `" + dirs.user + "` must be an absolute path");
  }
  return dirs;
}

void PartialBlob::restart() {
  sys::truncate_fd(fd.get(), 0);
  size = 0;
  hash = Sha256();
}

BlobCache::BlobCache(CacheDirs dirs) : _dirs(std::move(dirs)) {
  try {
    for (const char* sub : {"/blobs/sha256", "/tmp", "/locks", "/images"}) {
      make_dirs(_dirs.user + sub);
    }
    _cache_lock = sys::open_path(_dirs.user + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  } catch (const SysError& e) {
    throw Error(ErrorKind::cannot_create, "cache directory `" + _dirs.user + "`: " + e.code().message());
  }
  sys::lock_file(_cache_lock.get(), false, true);
}

std::optional<std::string> BlobCache::find(const Descriptor& blob) const {
  for (const std::string& dir : {_dirs.shared, _dirs.user}) {
    if (dir.empty()) {
      continue;
    }
    std::string path = dir + "/blobs/sha256/" + hex_of(blob.digest);
    auto st = sys::try_stat(path);
    if (st && S_ISREG(st->st_mode) && static_cast<uint64_t>(st->st_size) == blob.size) {
      return path;
    }
  }
  return std::nullopt;
}

std::string BlobCache::commit(PartialBlob& partial, const Descriptor& blob, const std::string& partial_path) {
  std::string got = partial.hash.hex_digest();
  if (partial.size != blob.size || got != blob.digest) {
    sys::try_unlink(partial_path);
    throw Error(ErrorKind::image_invalid, "blob " + blob.digest + ": digest mismatch (the registry sent " +
                                              std::to_string(partial.size) + " bytes hashing to " + got + ")");
  }
  sys::sync_fd(partial.fd.get());
  std::string path = _dirs.user + "/blobs/sha256/" + hex_of(blob.digest);
  sys::rename_path(partial_path, path);
  return path;
}

std::string BlobCache::fetch(const Descriptor& blob, const Download& download, bool& downloaded) {
  downloaded = false;
  if (auto path = find(blob)) {
    return *path;
  }
  std::string hex = hex_of(blob.digest);
  BlobLock lock(_dirs.user + "/locks/" + hex + ".lock");
  if (auto path = find(blob)) {
    return *path;  // another process fetched it while this one waited
  }
  std::string partial_path = _dirs.user + "/tmp/" + hex + ".partial";
  PartialBlob partial;
  // O_APPEND: every write lands at the end, also after restart() emptied the file.
  partial.fd = sys::open_path(partial_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  // What an interrupted download left: hash it so the download resumes where it stopped.
  std::string chunk(1 << 20, '\0');
  while (size_t n = sys::read_some(partial.fd.get(), chunk.data(), chunk.size())) {
    partial.hash.update(std::string_view(chunk.data(), n));
    partial.size += n;
  }
  if (partial.size > blob.size) {
    partial.restart();
  }
  download(partial);
  downloaded = true;
  return commit(partial, blob, partial_path);
}

std::string BlobCache::store(const std::string& digest, std::string_view content) {
  std::string path = _dirs.user + "/blobs/sha256/" + hex_of(digest);
  if (!sys::try_stat(path)) {
    std::string tmp = _dirs.user + "/tmp/" + hex_of(digest) + "." + std::to_string(::getpid());
    sys::write_file_at(AT_FDCWD, tmp, content, 0600);
    sys::rename_path(tmp, path);
  }
  return path;
}

void BlobCache::record_image(const std::string& reference, const std::string& manifest_digest,
                             const std::vector<std::string>& blobs, const std::string& pulled_at) {
  nlohmann::json doc = {{"reference", reference}, {"manifest", manifest_digest}, {"blobs", blobs}, {"pulled", pulled_at}};
  std::string name = sha256_hex(reference).substr(0, 32) + ".json";
  std::string tmp = _dirs.user + "/tmp/" + name + "." + std::to_string(::getpid());
  sys::write_file_at(AT_FDCWD, tmp, doc.dump(2) + "\n", 0600);
  sys::rename_path(tmp, _dirs.user + "/images/" + name);
}

std::string describe_cache(const CacheDirs& dirs) {
  namespace fs = std::filesystem;
  std::map<std::string, uint64_t> sizes;  // digest → bytes
  std::map<std::string, std::vector<std::string>> users;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dirs.user + "/blobs/sha256", ec)) {
    sizes["sha256:" + e.path().filename().string()] = e.is_regular_file(ec) ? e.file_size(ec) : 0;
  }
  std::string images;
  for (const auto& e : fs::directory_iterator(dirs.user + "/images", ec)) {
    auto doc = nlohmann::json::parse(sys::try_read_file(e.path().string(), 1 << 20).value_or(""), nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc["reference"].is_string() || !doc["blobs"].is_array()) {
      continue;
    }
    std::string ref = doc["reference"].get<std::string>();
    uint64_t total = 0;
    for (const auto& b : doc["blobs"]) {
      std::string d = b.is_string() ? b.get<std::string>() : "";
      total += sizes.count(d) ? sizes[d] : 0;
      users[d].push_back(ref);
    }
    images += "  " + ref + "  " + doc.value("manifest", std::string("?")) + "  " + human_size(total) + "  pulled " +
              doc.value("pulled", std::string("?")) + "\n";
  }
  uint64_t total = 0;
  std::string blobs;
  for (const auto& [digest, size] : sizes) {
    total += size;
    std::string used;
    for (const auto& r : users[digest]) {
      used += (used.empty() ? "" : ", ") + r;
    }
    blobs += "  " + digest + "  " + human_size(size) + "  " + (used.empty() ? "(no image)" : used) + "\n";
  }
  std::string out = "cache " + dirs.user + ": " + std::to_string(sizes.size()) + " blobs, " + human_size(total) + "\n";
  if (!dirs.shared.empty()) {
    out += "shared cache (read-only): " + dirs.shared + "\n";
  }
  out += "images:\n" + (images.empty() ? "  (none)\n" : images) + "blobs:\n" + (blobs.empty() ? "  (none)\n" : blobs);
  return out;
}

uint64_t clean_cache(const CacheDirs& dirs) {
  namespace fs = std::filesystem;
  auto st = sys::try_stat(dirs.user);
  if (!st) {
    return 0;
  }
  sys::Fd lock = sys::open_path(dirs.user + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (!sys::lock_file(lock.get(), true, false)) {
    throw Error(ErrorKind::setup_failed, "cache `" + dirs.user + "` is in use by a pull; clean it when that has ended");
  }
  uint64_t freed = 0;
  std::error_code ec;
  for (const char* sub : {"/blobs/sha256", "/tmp", "/locks", "/images"}) {
    for (const auto& e : fs::directory_iterator(dirs.user + sub, ec)) {
      freed += e.is_regular_file(ec) ? e.file_size(ec) : 0;
      fs::remove_all(e.path(), ec);
      if (ec) {
        throw Error(ErrorKind::setup_failed, "cannot remove `" + e.path().string() + "`: " + ec.message());
      }
    }
  }
  return freed;
}

}  // namespace cexec::registry
