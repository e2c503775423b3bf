#include "extract.hpp"

#include "base/error.hpp"
#include "base/path_walk.hpp"
#include "base/sys/syscalls.hpp"
#include "archive_rules.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec::build {

namespace {

class Reader {
 public:
  explicit Reader(const std::string& path) : _path(path), _a(archive_read_new()) {
    archive_read_support_format_tar(_a);
    archive_read_support_filter_gzip(_a);
    archive_read_support_filter_bzip2(_a);
    archive_read_support_filter_xz(_a);
    archive_read_support_filter_zstd(_a);
    if (archive_read_open_filename(_a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
      throw Error(ErrorKind::image_invalid, "archive `" + path + "`: " + error());
    }
  }
  ~Reader() { archive_read_free(_a); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The next member, or nullptr at the end.
  archive_entry* next() {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(_a, &e);
    if (rc == ARCHIVE_EOF) {
      return nullptr;
    }
    if (rc < ARCHIVE_WARN) {
      throw Error(ErrorKind::image_invalid, "archive `" + _path + "`: " + error());
    }
    return e;
  }

  void copy_data_to(int fd, const std::string& member) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      int rc = archive_read_data_block(_a, &buf, &size, &offset);
      if (rc == ARCHIVE_EOF) {
        return;
      }
      if (rc < ARCHIVE_WARN) {
        throw Error(ErrorKind::image_invalid, "archive `" + _path + "`, member `" + member + "`: " + error());
      }
      // Sparse members come as blocks at offsets.
      if (::lseek(fd, offset, SEEK_SET) < 0) {
        sys::throw_errno("lseek", member);
      }
      sys::write_all(fd, std::string_view(static_cast<const char*>(buf), size));
    }
  }

 private:
  std::string error() { return archive_error_string(_a) ? archive_error_string(_a) : "unreadable"; }
  std::string _path;
  struct archive* _a;
};

Error refused(const std::string& member, const std::string& why) {
  return Error(ErrorKind::image_invalid, "archive member `" + member + "`: " + why);
}

std::pair<std::string, std::string> split_parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return {"", path};
  }
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// The directory `dir` (a normalized member path) inside the root, created when `create`; symlinks
// are followed as if the root were "/", and one that leads out refuses `member`.
std::optional<sys::Fd> resolve_dir(int rootfd, const std::string& dir, const std::string& member, bool create) {
  WalkResult w = walk_in_root(rootfd, "/" + dir);
  switch (w.status) {
    case WalkStatus::found:
      if (!S_ISDIR(sys::stat_fd(w.fd.get()).st_mode)) {
        throw refused(member, "`" + dir + "` is not a directory");
      }
      return std::move(w.fd);
    case WalkStatus::escapes:
    case WalkStatus::too_many_links:
      throw refused(member, "its path leaves the root through a symlink");
    case WalkStatus::not_directory:
      throw refused(member, "its path passes through a non-directory");
    case WalkStatus::missing:
      break;
  }
  if (!create) {
    return std::nullopt;
  }
  return create_missing_directories(rootfd, w, 0);
}

void remove_entry(int dirfd, const std::string& name) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    std::error_code ec;
    std::filesystem::remove_all(sys::fd_path(dirfd) + "/" + name, ec);
    if (ec) {
      throw SysError(ec.value(), "remove `" + name + "`");
    }
  } else if (::unlinkat(dirfd, name.c_str(), 0) != 0) {
    sys::throw_errno("unlink", name);
  }
}

// Pass one of a layer: what its whiteouts delete from the layers below.
void apply_whiteouts(const std::string& archive, int rootfd) {
  Reader reader(archive);
  while (archive_entry* e = reader.next()) {
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    auto path = normalize_member_path(name);
    if (!path) {
      throw Error(path.failure());
    }
    Whiteout w = classify_member(path.value());
    if (w.kind == WhiteoutKind::remove) {
      auto [dir, base] = split_parent(w.target);
      if (auto parent = resolve_dir(rootfd, dir, name, false)) {
        remove_entry(parent->get(), base);
      }
    } else if (w.kind == WhiteoutKind::opaque) {
      if (auto dir = resolve_dir(rootfd, w.target, name, false)) {
        for (const auto& child : std::filesystem::directory_iterator(sys::fd_path(dir->get()))) {
          remove_entry(dir->get(), child.path().filename());
        }
      }
    }
  }
}

void set_attributes(int dirfd, const std::string& base, archive_entry* e, const UnpackOptions& options, bool is_link) {
  if (options.restore_owner &&
      ::fchownat(dirfd, base.c_str(), static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e)),
                 AT_SYMLINK_NOFOLLOW) != 0) {
    sys::throw_errno("chown", base);
  }
  // After chown, which clears set-id bits.
  if (!is_link && ::fchmodat(dirfd, base.c_str(), archive_entry_perm(e) & 07777, 0) != 0) {
    sys::throw_errno("chmod", base);
  }
  struct timespec times[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                              {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  (void)::utimensat(dirfd, base.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

}  // namespace

void unpack_archive(const std::string& archive, const std::string& root, const UnpackOptions& options) {
  sys::Fd rootfd = sys::open_path(root, O_PATH | O_DIRECTORY);
  if (options.whiteouts) {
    apply_whiteouts(archive, rootfd.get());
  }
  Reader reader(archive);
  size_t skipped_devices = 0;
  while (archive_entry* e = reader.next()) {
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    auto path = normalize_member_path(name);
    if (!path) {
      throw Error(path.failure());
    }
    if (path.value().empty() || (options.whiteouts && classify_member(path.value()).kind != WhiteoutKind::none)) {
      continue;  // the root itself, or a whiteout (applied above)
    }
    auto [dir, base] = split_parent(path.value());
    sys::Fd parent = *resolve_dir(rootfd.get(), dir, name, true);
    mode_t type = archive_entry_filetype(e);
    const char* hardlink = archive_entry_hardlink(e);

    struct stat existing {};
    bool exists = ::fstatat(parent.get(), base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
    // A later member replaces an earlier one, except that directories merge.
    if (exists && !(S_ISDIR(existing.st_mode) && type == AE_IFDIR && !hardlink)) {
      remove_entry(parent.get(), base);
    }
    if (hardlink) {
      auto target = normalize_member_path(hardlink);
      if (!target) {
        throw Error(target.failure());
      }
      auto [tdir, tbase] = split_parent(target.value());
      auto tparent = resolve_dir(rootfd.get(), tdir, name, false);
      if (!tparent || ::linkat(tparent->get(), tbase.c_str(), parent.get(), base.c_str(), 0) != 0) {
        throw refused(name, "hard link target `" + std::string(hardlink) + "` is missing");
      }
      continue;
    }
    switch (type) {
      case AE_IFDIR:
        sys::mkdir_at(parent.get(), base, 0700);
        break;
      case AE_IFREG: {
        sys::Fd fd = sys::open_at(parent.get(), base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
        reader.copy_data_to(fd.get(), name);
        if (::ftruncate(fd.get(), archive_entry_size(e)) != 0) {
          sys::throw_errno("truncate", name);
        }
        break;
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (::symlinkat(target ? target : "", parent.get(), base.c_str()) != 0) {
          sys::throw_errno("symlink", name);
        }
        break;
      }
      case AE_IFIFO:
        if (::mkfifoat(parent.get(), base.c_str(), 0600) != 0) {
          sys::throw_errno("mkfifo", name);
        }
        break;
      default:
        // Device nodes: impossible in a user namespace, and every container gets the host's /dev.
        ++skipped_devices;
        continue;
    }
    set_attributes(parent.get(), base, e, options, type == AE_IFLNK);
  }
  if (skipped_devices > 0) {
    std::fprintf(stderr, "cexec: note: skipped %zu device node(s) in `%s` (containers use the host's /dev)\n",
                 skipped_devices, archive.c_str());
  }
}

}  // namespace cexec::build
