// The FUSE server for a SquashFS image: libsquashfuse's low-level operations run by libfuse3's
// multithreaded loop, in a detached process outside the container's namespaces.
//
// Why outside: a FUSE server inside the mount namespace keeps that namespace (and itself) alive
// after every container process has exited. Living outside, it holds only the /dev/fuse connection;
// when the last container process exits, the kernel tears the mount namespace down, aborts the
// connection and the server's loop ends. Nothing lingers and no unmount step is needed.
#pragma once

#include "sys/fd.hpp"

#include <string>
#include <sys/types.h>

namespace cexec {

class SquashfsServer {
 public:
  // Forks the server (before the caller unshares), which opens and indexes the image while the
  // caller builds its namespaces.
  static SquashfsServer start(const std::string& image);

  // Hands over a /dev/fuse fd already used for a mount; returns once the server is serving it.
  // Throws Error(image_invalid) when the server could not open the image.
  void serve(sys::Fd fuse_fd);

 private:
  SquashfsServer(sys::Fd sock, std::string image, pid_t intermediate)
      : _sock(std::move(sock)), _image(std::move(image)), _intermediate(intermediate) {}
  sys::Fd _sock;
  std::string _image;
  pid_t _intermediate;
};

}  // namespace cexec
