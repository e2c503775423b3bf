#include "squashfs_ops.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>
#include <fcntl.h>
#include <sys/stat.h>

extern "C" {
// Exported by libsquashfuse_ll (its fuseprivate part) without a public header.
sqfs_err sqfs_stat(sqfs* fs, sqfs_inode* inode, struct stat* st);
}

namespace cexec::sqfs_ops {

namespace {

// The image never changes under a mount: entries and attributes are valid for ever.
constexpr double forever = std::numeric_limits<double>::max();

thread_local sqfs_ll* thread_handle = nullptr;

// The operations this file does not reimplement (extended attributes, forget) go to the library
// on the session's own handle, which no worker uses for anything else, one at a time.
std::mutex library_lock;

template <auto Op>
struct Locked;

template <typename... Args, void (*Op)(Args...)>
struct Locked<Op> {
  static void call(Args... args) {
    std::lock_guard<std::mutex> guard(library_lock);
    Op(args...);
  }
};

sqfs_ll* clone_handle(sqfs_ll* base) {
  auto* ll = static_cast<sqfs_ll*>(std::calloc(1, sizeof(sqfs_ll)));
  if (ll == nullptr) {
    return nullptr;
  }
  // Same descriptor: libsquashfuse reads with pread only, so the file offset is never shared state.
  if (sqfs_init(&ll->fs, base->fs.fd, base->fs.offset) != SQFS_OK) {
    std::free(ll);
    return nullptr;
  }
  if (sqfs_ll_init(ll) != SQFS_OK) {
    sqfs_destroy(&ll->fs);
    std::free(ll);
    return nullptr;
  }
  return ll;
}

// The calling thread's handle, cloned on first use; null (and the request answered) if that fails.
sqfs_ll* handle(fuse_req_t req) {
  if (thread_handle == nullptr && !prepare_thread(static_cast<sqfs_ll*>(fuse_req_userdata(req)))) {
    fuse_reply_err(req, ENOMEM);
  }
  return thread_handle;
}

// The thread's handle and the inode behind `ino` read with it; nullopt (and the request answered)
// when either is missing.
struct Target {
  sqfs_ll* ll;
  std::unique_ptr<sqfs_inode> inode;
};

std::optional<Target> target(fuse_req_t req, fuse_ino_t ino) {
  sqfs_ll* ll = handle(req);
  if (ll == nullptr) {
    return std::nullopt;
  }
  auto inode = std::make_unique<sqfs_inode>();
  if (sqfs_ll_inode(ll, inode.get(), ino) != SQFS_OK) {
    fuse_reply_err(req, ENOENT);
    return std::nullopt;
  }
  return Target{ll, std::move(inode)};
}

void op_init(void*, struct fuse_conn_info* conn) {
  if ((conn->capable & FUSE_CAP_CACHE_SYMLINKS) != 0) {
    conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  }
  // Readahead of many readers at once: let the kernel keep more asynchronous reads in flight
  // than its default of 12, so every worker has one to decompress.
  conn->max_background = 64;
  conn->congestion_threshold = 48;
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info*) {
  auto t = target(req, ino);
  if (!t) {
    return;
  }
  struct stat st {};
  if (sqfs_stat(&t->ll->fs, t->inode.get(), &st) != SQFS_OK) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  st.st_ino = ino;
  fuse_reply_attr(req, &st, forever);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto t = target(req, parent);
  if (!t) {
    return;
  }
  sqfs_ll* ll = t->ll;
  sqfs_inode* dir = t->inode.get();
  if (!S_ISDIR(dir->base.mode)) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  sqfs_name namebuf;
  sqfs_dir_entry entry;
  sqfs_dentry_init(&entry, namebuf);
  bool found = false;
  if (sqfs_dir_lookup(&ll->fs, dir, name, std::strlen(name), &entry, &found) != SQFS_OK) {
    fuse_reply_err(req, EIO);
    return;
  }
  sqfs_inode inode;
  if (!found || sqfs_inode_get(&ll->fs, &inode, sqfs_dentry_inode(&entry)) != SQFS_OK) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct fuse_entry_param e {};
  if (sqfs_stat(&ll->fs, &inode, &e.attr) != SQFS_OK) {
    fuse_reply_err(req, EIO);
    return;
  }
  e.attr_timeout = forever;
  e.entry_timeout = forever;
  e.ino = ll->ino_register(ll, &entry);
  e.attr.st_ino = e.ino;
  fuse_reply_entry(req, &e);
}

// Opens a file (regular) or a directory: the reply's fh owns a copy of the inode.
void open_inode(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi, bool want_dir) {
  auto t = target(req, ino);
  if (!t) {
    return;
  }
  std::unique_ptr<sqfs_inode>& inode = t->inode;
  if (want_dir && !S_ISDIR(inode->base.mode)) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  if (!want_dir && !S_ISREG(inode->base.mode)) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  fi->keep_cache = 1;  // pages (and listings) stay valid across opens: nothing ever changes
  fi->cache_readdir = want_dir ? 1 : 0;
  fi->noflush = 1;
  fi->fh = reinterpret_cast<uintptr_t>(inode.release());
  if (fuse_reply_open(req, fi) != 0) {
    delete reinterpret_cast<sqfs_inode*>(fi->fh);  // the opener was interrupted: no release follows
  }
}

void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  open_inode(req, ino, fi, false);
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  open_inode(req, ino, fi, true);
}

void op_release(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  delete reinterpret_cast<sqfs_inode*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_create(fuse_req_t req, fuse_ino_t, const char*, mode_t, struct fuse_file_info*) {
  fuse_reply_err(req, EROFS);
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, struct fuse_file_info* fi) {
  sqfs_ll* ll = handle(req);
  if (ll == nullptr) {
    return;
  }
  std::unique_ptr<char[]> buf(new (std::nothrow) char[size]);
  if (buf == nullptr) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  auto* inode = reinterpret_cast<sqfs_inode*>(fi->fh);
  sqfs_off_t got = static_cast<sqfs_off_t>(size);
  if (sqfs_read_range(&ll->fs, inode, off, &got, buf.get()) != SQFS_OK) {
    fuse_reply_err(req, EIO);
    return;
  }
  fuse_reply_buf(req, buf.get(), static_cast<size_t>(got));
}

void op_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, struct fuse_file_info* fi) {
  sqfs_ll* ll = handle(req);
  if (ll == nullptr) {
    return;
  }
  auto* inode = reinterpret_cast<sqfs_inode*>(fi->fh);
  sqfs_dir dir;
  if (sqfs_dir_open(&ll->fs, inode, &dir, off) != SQFS_OK) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  std::vector<char> buf(size);
  size_t used = 0;
  sqfs_name namebuf;
  sqfs_dir_entry entry;
  sqfs_dentry_init(&entry, namebuf);
  sqfs_err err = SQFS_OK;
  struct stat st {};
  while (sqfs_dir_next(&ll->fs, &dir, &entry, &err)) {
    st.st_ino = ll->ino_fuse_num(ll, &entry);
    st.st_mode = sqfs_dentry_mode(&entry);
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, sqfs_dentry_name(&entry), &st,
                                    static_cast<off_t>(sqfs_dentry_next_offset(&entry)));
    if (need > size - used) {
      break;
    }
    used += need;
  }
  if (err != SQFS_OK) {
    fuse_reply_err(req, EIO);
    return;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  auto t = target(req, ino);
  if (!t) {
    return;
  }
  sqfs_ll* ll = t->ll;
  sqfs_inode* inode = t->inode.get();
  if (!S_ISLNK(inode->base.mode)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  size_t size = 0;
  if (sqfs_readlink(&ll->fs, inode, nullptr, &size) != SQFS_OK) {
    fuse_reply_err(req, EIO);
    return;
  }
  std::vector<char> link(size + 1);
  if (sqfs_readlink(&ll->fs, inode, link.data(), &size) != SQFS_OK) {
    fuse_reply_err(req, EIO);
    return;
  }
  fuse_reply_readlink(req, link.data());
}

}  // namespace

bool prepare_thread(sqfs_ll* base) {
  if (thread_handle == nullptr) {
    thread_handle = clone_handle(base);
  }
  return thread_handle != nullptr;
}

int worker_count() {
  unsigned cpus = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cpus, 4U, 16U));
}

struct fuse_lowlevel_ops operations() {
  struct fuse_lowlevel_ops ops {};
  ops.init = op_init;
  ops.getattr = op_getattr;
  ops.lookup = op_lookup;
  ops.open = op_open;
  ops.opendir = op_opendir;
  ops.release = op_release;
  ops.releasedir = op_release;
  ops.create = op_create;
  ops.read = op_read;
  ops.readdir = op_readdir;
  ops.readlink = op_readlink;
  ops.listxattr = Locked<sqfs_ll_op_listxattr>::call;
  ops.getxattr = Locked<sqfs_ll_op_getxattr>::call;
  ops.forget = Locked<sqfs_ll_op_forget>::call;
  ops.statfs = Locked<stfs_ll_op_statfs>::call;
  return ops;
}

}  // namespace cexec::sqfs_ops
