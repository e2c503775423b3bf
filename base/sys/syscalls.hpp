// The one place cexec talks to the kernel: thin, errno-checked wrappers over the system calls the
// launcher uses (namespaces, the new mount API, pivot_root, capabilities, fd passing). Each wrapper
// throws SysError naming the call and its paths; EINTR is retried here and nowhere else.
#pragma once

#include "base/error.hpp"
#include "fd.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

namespace cexec::sys {

// Reads errno first, then throws SysError("<call> `a` `b`: <strerror>").
[[noreturn]] void throw_errno(std::string_view call, std::string_view a = {}, std::string_view b = {});
[[noreturn]] void throw_errno_value(int err, std::string_view call, std::string_view a = {},
                                    std::string_view b = {});

Fd open_path(const std::string& path, int flags, mode_t mode = 0);
Fd open_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);
std::optional<Fd> try_open_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);
struct stat stat_fd(int fd);
std::optional<struct stat> try_stat(const std::string& path);
std::string read_all(int fd, size_t limit = 16 << 20);
std::string read_file(const std::string& path, size_t limit = 16 << 20);
std::optional<std::string> try_read_file(const std::string& path, size_t limit = 16 << 20);

// When this process is in a user namespace other than the initial one: the uid that files of
// owners it does not map show (/proc/sys/kernel/overflowuid). nullopt in the initial namespace.
std::optional<uid_t> try_unmapped_owner_uid();
void write_all(int fd, std::string_view data);
void write_file(const std::string& path, std::string_view data);
void write_file_at(int dirfd, const std::string& name, std::string_view data, mode_t mode);
std::optional<std::string> try_readlink_at(int dirfd, const std::string& name);
std::string read_link(const std::string& path);
void mkdir_at(int dirfd, const std::string& name, mode_t mode);
std::string fd_path(int fd);  // "/proc/self/fd/N", for APIs that only take paths

// Namespaces and identity.
void unshare(int flags);
void set_no_new_privs();
// PR_SET_DUMPABLE 0: no ptrace, no /proc/PID/{mem,exe,root,fd} for others; execve(2) resets it.
void set_non_dumpable();
void pivot_root_to_cwd();  // pivot_root(".", ".") then detach the old root stacked underneath

// The new mount API (Linux 5.2+, mount_setattr 5.12+).
Fd open_tree_clone(int dirfd, const std::string& path, bool recursive);
Fd fs_open(const char* fstype);
void fs_config_string(int fsfd, const char* key, const std::string& value);
void fs_config_flag(int fsfd, const char* key);
Fd fs_create_mount(int fsfd, unsigned attrs, std::string_view what);
void move_mount_to(int from_fd, int to_dirfd, const std::string& to_path, std::string_view what);
void set_mount_attrs(int mnt_fd, uint64_t set, uint64_t clear, bool recursive, std::string_view what);
void make_rprivate_root();
void mount_legacy(const std::string& source, const std::string& target, const char* fstype,
                  unsigned long flags, const std::string& data);

// openat2(2) with RESOLVE_IN_ROOT: `path` is resolved as if `rootfd` were "/", so no symlink or ".."
// can leave the tree.
// `mode` is used with O_CREAT.
std::optional<Fd> try_open_in_root(int rootfd, const std::string& path, uint64_t flags, mode_t mode = 0);
// openat2(2) with RESOLVE_BENEATH: fails (EXDEV) on any absolute symlink or ".." leaving `rootfd`.
std::optional<Fd> try_open_beneath(int rootfd, const std::string& path, uint64_t flags);

// Messages with descriptors over SOCK_SEQPACKET unix sockets (SCM_RIGHTS): one datagram each.
struct Message {
  std::string bytes;  // empty with no fds: the peer closed the connection
  std::vector<Fd> fds;
};
void send_message(int sock, std::string_view bytes, std::span<const int> fds = {});
Message receive_message(int sock);  // EOF and ECONNRESET give an empty Message
void send_fd(int sock, int fd);
Fd receive_fd(int sock);
std::pair<Fd, Fd> socket_pair();
std::pair<Fd, Fd> make_pipe();  // {read end, write end}, both close-on-exec

// Abstract unix sockets (Linux): a name in the network namespace, no file, gone with its socket,
// so a crash leaves nothing behind. These return 0 or the errno.
Fd seqpacket_socket();
int connect_abstract(int sock, std::string_view name);
int bind_abstract(int sock, std::string_view name);
void listen_on(int sock, int backlog);
struct PeerCredentials {
  pid_t pid;
  uid_t uid;
  gid_t gid;
};
PeerCredentials peer_credentials(int sock);

void set_namespace(int nsfd, int nstype, std::string_view what);
Fd pidfd_open(pid_t pid);

// epoll and timerfd, for the instance keeper's event loop.
Fd epoll_create();
void epoll_add(int epfd, int fd, uint64_t tag);
void epoll_remove(int epfd, int fd);
std::vector<uint64_t> epoll_wait_tags(int epfd, int timeout_ms);
Fd timer_create();
void timer_arm(int tfd, double seconds);  // 0 disarms

// For a daemon-like helper (FUSE server, instance keeper): a new session, stdio on /dev/null, every
// descriptor closed but `keep` (renumbered 3, which is returned), terminal and job-control signals
// ignored (they are for the container's processes, not for the helpers that serve them), and
// `name` as the process name (pgrep -x NAME).
int detach_from_caller(int keep, const char* name);

pid_t fork_process();
int wait_for(pid_t pid);

// Runs a host program (searched in PATH from `env`) with exactly `env`, waits and returns the
// wait(2) status. `stdin_null` gives it /dev/null as standard input.
int spawn_and_wait(const std::vector<std::string>& argv, const std::vector<std::string>& env, bool stdin_null = true);
// Runs argv[0] (a path) with `env`, stdin and stderr on /dev/null, and returns its standard output
// (at most `limit` bytes read); nullopt when it cannot be started or exits non-zero. For short
// queries of host tools (version strings), never for anything that takes input.
std::optional<std::string> try_capture_output(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                              size_t limit = 1 << 20);
// The first executable NAME in the PATH of a captured environ ("NAME=VALUE" strings; the default
// PATH when unset), or "".
std::string find_program(const std::string& name, const std::vector<std::string>& environ);
// argv/envp for the exec family: pointers into `strings`, null-terminated.
std::vector<char*> c_string_array(const std::vector<std::string>& strings);
// execvpe(2) with std::strings; returns only by throwing.
[[noreturn]] void exec_program(const std::vector<std::string>& argv, const std::vector<std::string>& env);
void chroot_to(int dirfd);     // fchdir + chroot(".") + chdir("/")
void detach_mount(const std::string& path);  // umount2(MNT_DETACH)
// unlinkat(2); false (errno kept) when it fails: for cleanup where a missing file is no error.
bool try_unlink_at(int dirfd, const std::string& name, int flags = 0);
void redirect_fd(int from, int to);          // dup2 that names both in errors
Fd memory_file(const char* name);            // memfd_create: a file that needs no disk space

// file_read.cpp: positioned reads and directory listings.
std::string read_at(int fd, size_t size, uint64_t offset);  // pread until `size` bytes or end of file
std::optional<std::vector<std::string>> try_list_directory(const std::string& path);  // names, sorted; nullopt if absent
// For the registry's blob cache (registry/cache.cpp).
bool lock_file(int fd, bool exclusive, bool wait);  // flock(2); false when !wait and it is held
void rename_path(const std::string& from, const std::string& to);
bool try_unlink(const std::string& path);            // false when it was not there
void sync_fd(int fd);                                // fsync(2)
void truncate_fd(int fd, off_t size);
size_t read_some(int fd, char* buf, size_t size);  // read(2); 0 at the end

}  // namespace cexec::sys
