// Where `cexec build` does everything that must look like root: bootstrapping, %setup, %files,
// %post, %test, squashing and removing the work tree. Each piece of work runs in a child process
// inside the build namespace the FakerootPlan describes (build_plan.hpp), so a build by an
// ordinary user can chown, switch ids and chroot as package managers expect.
#pragma once

#include "build_plan.hpp"

#include <functional>
#include <string>
#include <vector>

namespace cexec::build {

class BuildSandbox {
 public:
  BuildSandbox(FakerootPlan plan, std::vector<std::string> host_env)
      : _plan(std::move(plan)), _host_env(std::move(host_env)) {}

  // Runs `body` in a child inside the build namespace and returns the child's shell-style status:
  // the status of the program `body` execs, or 0 when `body` returns. An exception thrown by
  // `body` is sent back to the parent and rethrown here (style rule 13).
  int run(const std::function<void()>& body) const;

  const FakerootPlan& plan() const { return _plan; }
  // The host environment, with the sbin folders on PATH (debootstrap, chroot and mksquashfs live there).
  const std::vector<std::string>& host_env() const { return _host_env; }

 private:
  FakerootPlan _plan;
  std::vector<std::string> _host_env;
};

// A command to run chrooted in the new root.
struct RootCommand {
  std::vector<std::string> argv;
  std::vector<std::string> env;
};

// Inside BuildSandbox::run: binds /proc, /sys, a /dev of harmless devices and the host's
// resolv.conf and hosts into `root`, runs `command` chrooted there with /dev/null as stdin, undoes
// what it added to the tree and exits with the command's status.
[[noreturn]] void run_chrooted(const std::string& root, const RootCommand& command, Fakeroot mode);

// Inside BuildSandbox::run: a tmpfs on ROOT/dev holding null, zero, full, random, urandom, tty and
// console bound from the host, a devpts of its own on pts, shm, and (with `links`) the ptmx, fd,
// stdin, stdout and stderr links. Device nodes cannot be created in a user namespace, and tools that make them
// (debootstrap) skip those that already exist; debootstrap makes the links itself.
void mount_build_dev(int rootfd, bool links);

// Inside BuildSandbox::run: deletes `path` and everything below it, whoever owns it in the namespace.
void remove_tree(const std::string& path);

// PATH-style lookup of a host program; empty when absent.
std::string find_host_program(const std::string& name, const std::vector<std::string>& env);

}  // namespace cexec::build
