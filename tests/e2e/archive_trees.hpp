// The layer trees the archive and registry tests build images from (busybox below, whiteouts and an
// opaque directory above), the image config they share, and what the resulting image must show.
#pragma once

#include "harness.hpp"

namespace e2e {

// Runs a shell command line on the host (assembling test inputs); it must succeed.
inline void host_sh(const std::string& script, const Env& env) {
  auto o = run({"/bin/sh", "-ec", script}, env);
  BOOST_REQUIRE_MESSAGE(o.status == 0, "host command failed: " << script << "\n" << o);
}

// A busybox layer tree: what the archive tests put in their bottom layer.
inline void make_busybox_tree(const std::string& dir, const Env& env) {
  host_sh("mkdir -p " + dir + "/bin " + dir + "/etc " + dir + "/opt/keep " + dir + "/opt/opaque/old " + dir + "/tmp && " +
              "cp /bin/busybox " + dir + "/bin/ && for a in sh cat ls echo id pwd test stat; do ln -s busybox " + dir +
              "/bin/$a; done && echo removed > " + dir + "/etc/removed && echo kept > " + dir + "/opt/keep/file && " +
              "echo old > " + dir + "/opt/opaque/old/file && echo lower > " + dir + "/etc/replaced",
          env);
}

// The top layer: deletes /etc/removed, hides /opt/opaque's lower content, replaces a file.
inline void make_whiteout_tree(const std::string& dir, const Env& env) {
  host_sh("mkdir -p " + dir + "/etc " + dir + "/opt/opaque " + dir + "/work && touch " + dir + "/etc/.wh.removed " + dir +
              "/opt/opaque/.wh..wh..opq && echo new > " + dir + "/opt/opaque/new && echo upper > " + dir + "/etc/replaced",
          env);
}

inline const char* image_config_json =
    R"({"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","GREETING=from config","PRICE=$5"],)"
    R"("Entrypoint":["/bin/sh","-c","echo \"entry:$GREETING:$PRICE:$(pwd):$*\"","ep"],"Cmd":["default-cmd"],)"
    R"("WorkingDir":"/work","Labels":{"org.opencontainers.image.title":"whiteout-test"}},"rootfs":{"type":"layers","diff_ids":[]}})";

// What the archive images must show: whiteouts applied, config's env/entrypoint/workdir/labels used.
inline void check_archive_image(const std::string& img, const Env& env) {
  BOOST_TEST_INFO("image " << img);
  auto ls = run_cexec({"exec", img, "sh", "-c", "ls /opt/opaque; ls /opt/keep; test ! -e /etc/removed && echo gone; cat /etc/replaced"}, env);
  BOOST_CHECK_EQUAL(ls.status, 0);
  BOOST_CHECK_EQUAL(ls.out, "new\nfile\ngone\nupper\n");
  auto run_default = run_cexec({"run", img}, env);
  BOOST_CHECK_EQUAL(run_default.status, 0);
  BOOST_CHECK_EQUAL(run_default.out, "entry:from config:$5:/work:default-cmd\n");
  auto run_args = run_cexec({"run", img, "x", "y"}, env);
  BOOST_CHECK_EQUAL(run_args.out, "entry:from config:$5:/work:x y\n");
  auto inspect = run_cexec({"inspect", img}, env);
  BOOST_CHECK_EQUAL(inspect.status, 0);
  BOOST_CHECK(contains(inspect.out, "org.opencontainers.image.title=whiteout-test"));
  BOOST_CHECK(contains(inspect.out, "GREETING=from config"));
}

}  // namespace e2e
