// The FUSE server for a SquashFS image: libsquashfuse's low-level operations answered by a pool of
// libfuse3 worker threads, in a process outside the container's namespaces.
//
// Why outside: a FUSE server inside the mount namespace keeps that namespace (and itself) alive
// after every container process has exited. Living outside, it holds only the /dev/fuse connection;
// when the last container process exits, the kernel tears the mount namespace down, aborts the
// connection and the server's workers end. Nothing lingers and no unmount step is needed.
//
// Two roles: SquashfsService is the server (in a detached process for a private container, or in
// the node-instance keeper); SquashfsServer is the launcher's handle on it, which hands over the
// /dev/fuse descriptor of the mount (protocol: "F"+fd, answered by "S" or "E<reason>").
#pragma once

#include "base/sys/child.hpp"
#include "base/sys/fd.hpp"
#include "base/sys/syscalls.hpp"

#include <optional>
#include <string>
#include <sys/types.h>

struct fuse_session;

namespace cexec {

class SquashfsServer {
 public:
  // Forks a detached server process (before the caller unshares), which opens and indexes the
  // image while the caller builds its namespaces.
  static SquashfsServer start(const std::string& image);
  // A server that answers on `sock` (the node-instance keeper).
  static SquashfsServer attached(sys::Fd sock, const std::string& image);

  // Hands over a /dev/fuse fd already used for a mount; returns once the server is serving it.
  // Throws Error(image_invalid) when the server could not open the image.
  void serve(sys::Fd fuse_fd);

 private:
  SquashfsServer(sys::Fd sock, std::string image, sys::Child intermediate)
      : _sock(std::move(sock)), _image(std::move(image)), _intermediate(std::move(intermediate)) {}
  sys::Fd _sock;
  std::string _image;
  sys::Child _intermediate;  // the double fork's middle process (none when attached)
};

class SquashfsService {
 public:
  // Opens and indexes the image and starts the worker threads, idle until a mount arrives.
  // Throws Error(image_invalid) for an image libsquashfuse cannot read.
  explicit SquashfsService(const std::string& image);
  SquashfsService(const SquashfsService&) = delete;
  SquashfsService& operator=(const SquashfsService&) = delete;

  // Takes the "F"+fd message from `sock`, binds the session to the descriptor, releases the
  // workers and answers "S". Any other message (an error, or end of file) is returned unanswered.
  std::optional<sys::Message> accept_mount(int sock);

  // Serves in the calling thread too, until the kernel aborts the connection (the container's
  // mount namespace is gone).
  void serve_until_unmounted();

 private:
  struct fuse_session* _session = nullptr;
  std::string _image;
};

}  // namespace cexec
