// End-to-end tests of `cexec build`, `cexec inspect` and `cexec run-help` against the real kernel,
// run as root and as the unprivileged user nobody (CMakeLists.txt). Images are built from the
// staged busybox root filesystem as a directory, a SquashFS image (localimage), and a docker-save
// and an OCI archive that the tests assemble themselves (with whiteouts and opaque directories);
// every result is then run, exec'd and inspected. The suite `debootstrap` (disabled unless named,
// ctest label `debootstrap`) builds Debian bookworm for real from the Debian mirror.
#define BOOST_TEST_MODULE cexec_build_e2e
#include <boost/test/unit_test.hpp>

#include "archive_trees.hpp"
#include "harness.hpp"

using namespace e2e;

namespace {

// The directory image staged by make_images.sh: busybox, probe, /.cexec/{environment,runscript}.
std::string rootfs() { return dir_image(); }

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

std::string sha256_of(const std::string& path, const Env& env) {
  auto o = run({"sha256sum", path}, env);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  return "sha256:" + o.out.substr(0, 64);
}

// Nothing but OUT may be left in OUT's folder: no work folder, no temporary image.
void check_no_build_leftovers(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename();
    BOOST_CHECK_MESSAGE(name.find(".cexec-build-") == std::string::npos && name.find(".cexec-tmp-") == std::string::npos,
                        "leftover build file " << e.path());
  }
}

// `cexec build ARGS...`; on success stdout is exactly the digest line (SquashFS output).
Outcome cexec_build(const std::vector<std::string>& args, const Env& env, const std::string& cwd = "/") {
  std::vector<std::string> all{"build"};
  all.insert(all.end(), args.begin(), args.end());
  return run_cexec(all, env, cwd);
}

// docker save layout: manifest.json, the config, one plain and one gzipped layer.
std::string make_docker_archive(const TempDir& t, const Env& env) {
  make_busybox_tree(t / "l1", env);
  make_whiteout_tree(t / "l2", env);
  write_text(t / "config.json", image_config_json);
  write_text(t / "manifest.json", R"([{"Config":"config.json","RepoTags":["test:1"],"Layers":["l1/layer.tar","l2/layer.tar.gz"]}])");
  host_sh("cd " + t.path() + " && mkdir -p d/l1 d/l2 && tar -C l1 -cf d/l1/layer.tar . && tar -C l2 -czf d/l2/layer.tar.gz . && "
              "cp config.json manifest.json d/ && tar -C d -cf docker.tar manifest.json config.json l1 l2",
          env);
  return t / "docker.tar";
}

// OCI image layout: oci-layout, index.json, and every file a blob named by its sha256.
std::string make_oci_archive(const TempDir& t, const Env& env) {
  make_busybox_tree(t / "o1", env);
  make_whiteout_tree(t / "o2", env);
  host_sh("cd " + t.path() + " && mkdir -p oci/blobs/sha256 && tar -C o1 -cf l1.tar . && tar -C o2 -cf - . | gzip > l2.tar.gz", env);
  auto blob = [&](const std::string& file) {
    std::string digest = sha256_of(t / file, env);
    host_sh("cp " + t / file + " " + t.path() + "/oci/blobs/sha256/" + digest.substr(7), env);
    return digest;
  };
  write_text(t / "oci-config.json", image_config_json);
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                         blob("oci-config.json") + R"("},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
                         blob("l1.tar") + R"("},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                         blob("l2.tar.gz") + R"("}]})";
  write_text(t / "manifest.json", manifest);
  std::string index = R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                      blob("manifest.json") + R"(","platform":{"architecture":"amd64","os":"linux"}}]})";
  write_text(t.path() + "/oci/index.json", index);
  write_text(t.path() + "/oci/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  host_sh("tar -C " + t.path() + "/oci -cf " + t.path() + "/oci.tar .", env);
  return t / "oci.tar";
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(build_e2e, Case)

BOOST_AUTO_TEST_CASE(from_a_directory) {
  std::string out = work / "dir.img";
  auto o = cexec_build({out, rootfs()}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, sha256_of(out, env) + "\n");
  BOOST_CHECK(contains(o.err, "[bootstrap]"));
  BOOST_CHECK(contains(o.err, "[squash]"));
  auto r = run_cexec({"run", out, "a", "b c"}, env);
  BOOST_CHECK_EQUAL(r.out, "runscript:a b c\n");
  auto e = run_cexec({"exec", out, "cat", "/etc/image-marker"}, env);
  BOOST_CHECK_EQUAL(e.out, "in the image\n");
  auto i = run_cexec({"inspect", out}, env);
  BOOST_CHECK_EQUAL(i.status, 0);
  BOOST_CHECK(contains(i.out, "digest: " + trim(o.out)));
  BOOST_CHECK(contains(i.out, "org.cexec.bootstrap=directory"));
  BOOST_CHECK(contains(i.out, "org.cexec.bootstrap-source=" + rootfs()));
  BOOST_CHECK(contains(i.out, "org.cexec.build-date="));
  BOOST_CHECK(contains(i.out, "IMAGE_VAR=from-image"));  // the base's own /.cexec/environment is kept
  // The image records root as the owner of its files, whoever built it.
  auto owner = run({"unsquashfs", "-lln", out, "/bin/busybox"}, env);
  BOOST_CHECK(contains(owner.out, " 0/0 "));
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_CASE(definition_with_every_section) {
  write_text(work / "hello.txt", "hello from the host\n");
  std::string def = work / "full.def";
  write_text(def,
             "Bootstrap: directory\n"
             "From: " + rootfs() + "\n"
             "\n"
             "%setup\n"
             "echo setup > \"$CEXEC_ROOTFS/from-setup\"\n"
             "%files\n"
             "hello.txt /opt/data/hello.txt\n"
             "hello.txt /etc-link/via-link.txt\n"  // the image's /etc-link -> /etc, followed inside it
             "%post\n"
             "echo \"post as $(id -u)\" > /post-marker\n"
             "chown 1234:5678 /opt/data/hello.txt\n"
             "%environment\n"
             "export BUILD_VAR=\"from the definition\"\n"
             "%runscript\n"
             "echo \"runscript says $BUILD_VAR: $*\"\n"
             "%labels\n"
             "Author tester@example.com\n"
             "%help\n"
             "Help for the test image.\n"
             "%test\n"
             "test \"$BUILD_VAR\" = \"from the definition\"\n"
             "test -f /opt/data/hello.txt\n");
  std::string out = work / "full.img";
  auto o = cexec_build({out, def}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  for (const char* stage : {"[setup]", "[files]", "[post]", "[test]", "[squash]"}) {
    BOOST_CHECK_MESSAGE(contains(o.err, stage), stage << " missing from " << o.err);
  }
  auto e = run_cexec({"exec", out, "cat", "/from-setup", "/post-marker", "/opt/data/hello.txt", "/etc/via-link.txt"}, env);
  BOOST_CHECK_EQUAL(e.out, "setup\npost as 0\nhello from the host\nhello from the host\n");
  BOOST_CHECK(!fs::exists("/etc/via-link.txt"));
  auto r = run_cexec({"run", out, "x"}, env);
  BOOST_CHECK_EQUAL(r.out, "runscript says from the definition: x\n");
  auto h = run_cexec({"run-help", out}, env);
  BOOST_CHECK_EQUAL(h.status, 0);
  BOOST_CHECK_EQUAL(h.out, "Help for the test image.\n");
  auto j = run_cexec({"inspect", "--json", out}, env);
  BOOST_CHECK_EQUAL(j.status, 0);
  BOOST_CHECK(contains(j.out, "\"Author\": \"tester@example.com\""));
  BOOST_CHECK(contains(j.out, "\"digest\": \"" + trim(o.out) + "\""));
  BOOST_CHECK(contains(j.out, "\"definition\": \"Bootstrap: directory\\n"));
  // chown inside %post is recorded for real as root, faked (a no-op) for an ordinary user.
  auto owner = run({"unsquashfs", "-lln", out, "/opt/data/hello.txt"}, env);
  BOOST_CHECK(contains(owner.out, is_root() ? " 1234/5678 " : " 0/0 "));

  // The same as a sandbox directory.
  std::string sandbox = work / "full.sandbox";
  auto s = cexec_build({"--sandbox", "-q", sandbox, def}, env);
  BOOST_REQUIRE_EQUAL(s.status, 0);
  BOOST_CHECK_EQUAL(s.out, "");
  BOOST_CHECK_EQUAL(s.err, "");
  auto rs = run_cexec({"run", sandbox, "y"}, env);
  BOOST_CHECK_EQUAL(rs.out, "runscript says from the definition: y\n");
  auto is = run_cexec({"inspect", sandbox}, env);
  BOOST_CHECK(contains(is.out, "format: directory"));
  BOOST_CHECK(contains(is.out, "Author=tester@example.com"));
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_CASE(from_a_localimage) {
  std::string def = work / "local.def";
  write_text(def, "Bootstrap: localimage\nFrom: " + sqfs() +
                      "\n%post\necho layered > /layered\n%runscript\ncat /layered /etc/image-marker\n%labels\nstage two\n");
  std::string out = work / "local.img";
  auto o = cexec_build({out, def}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  auto r = run_cexec({"run", out}, env);
  BOOST_CHECK_EQUAL(r.out, "layered\nin the image\n");
  auto e = run_cexec({"exec", out, "sh", "-c", "echo $IMAGE_VAR"}, env);
  BOOST_CHECK_EQUAL(e.out, "from-image\n");
  auto i = run_cexec({"inspect", out}, env);
  BOOST_CHECK(contains(i.out, "org.cexec.bootstrap=localimage"));
  BOOST_CHECK(contains(i.out, "stage=two"));
  // A plain SquashFS image as SPEC works the same way.
  std::string plain = work / "plain.img";
  auto p = cexec_build({plain, image("plain.sqfs")}, env);
  BOOST_REQUIRE_EQUAL(p.status, 0);
  BOOST_CHECK_EQUAL(run_cexec({"exec", plain, "cat", "/etc/image-marker"}, env).out, "in the image\n");
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_CASE(from_a_docker_archive_with_whiteouts) {
  TempDir t;
  std::string archive = make_docker_archive(t, env);
  std::string out = work / "docker.img";
  auto o = cexec_build({out, archive}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  check_archive_image(out, env);
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_CASE(from_an_oci_archive_with_whiteouts) {
  TempDir t;
  std::string archive = make_oci_archive(t, env);
  std::string def = work / "oci.def";
  write_text(def, "Bootstrap: oci-archive\nFrom: " + archive + "\n%labels\nextra yes\n");
  std::string out = work / "oci.img";
  auto o = cexec_build({out, def}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  check_archive_image(out, env);
  BOOST_CHECK(contains(run_cexec({"inspect", out}, env).out, "extra=yes"));
  // --sandbox and exec on the directory result.
  std::string sandbox = work / "oci.sandbox";
  BOOST_REQUIRE_EQUAL(cexec_build({"--sandbox", sandbox, def}, env).status, 0);
  check_archive_image(sandbox, env);
  check_no_build_leftovers(work.path());
}

// --- bad input ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(syntax_errors_name_file_and_line) {
  std::string def = work / "bad.def";
  write_text(def, "Bootstrap: directory\nFrom: /x\n%post\ntrue\n%appinstall foo\n");
  auto o = cexec_build({work / "bad.img", def}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(o.err, def + ":5: unknown section `%appinstall`"));
  write_text(def, "Bootstrap: directory\nFrom: /x\n%help\nok\n\xff\xfe\n");
  auto binary = cexec_build({work / "bad.img", def}, env);
  BOOST_CHECK_EQUAL(binary.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(binary.err, def + ":5: not UTF-8 text"));
  auto missing = cexec_build({work / "bad.img", work / "no-such.def"}, env);
  BOOST_CHECK_EQUAL(missing.status, exit_code_for(ErrorKind::input_missing));
  BOOST_CHECK(!fs::exists(work / "bad.img"));
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_CASE(files_destination_escaping_the_image_is_refused) {
  write_text(work / "f.txt", "x\n");
  std::string def = work / "escape.def";
  // The staged image's /escape -> ../../../.. climbs above its root.
  write_text(def, "Bootstrap: directory\nFrom: " + rootfs() + "\n%files\nf.txt /escape/tmp/cexec-files-escape\n");
  auto o = cexec_build({work / "escape.img", def}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::bind_destination));
  BOOST_CHECK_MESSAGE(contains(o.err, def + ":4: %files destination `/escape/tmp/cexec-files-escape` leads out of the image"), o);
  BOOST_CHECK(!fs::exists("/tmp/cexec-files-escape"));
  write_text(def, "Bootstrap: directory\nFrom: " + rootfs() + "\n%files\nmissing.txt /opt/\n");
  auto missing = cexec_build({work / "escape.img", def}, env);
  BOOST_CHECK_EQUAL(missing.status, exit_code_for(ErrorKind::input_missing));
  BOOST_CHECK(contains(missing.err, def + ":4: %files source"));
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_CASE(never_overwrites_without_force) {
  std::string out = work / "exists.img";
  write_text(out, "precious");
  auto o = cexec_build({out, rootfs()}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::cannot_create));
  BOOST_CHECK(contains(o.err, "--force"));
  BOOST_CHECK_EQUAL(read_text(out), "precious");
  auto f = cexec_build({"--force", out, rootfs()}, env);
  BOOST_CHECK_EQUAL(f.status, 0);
  BOOST_CHECK_EQUAL(run_cexec({"exec", out, "cat", "/etc/image-marker"}, env).out, "in the image\n");
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_CASE(failing_post_and_test_set_the_exit_status) {
  std::string def = work / "fail.def";
  std::string out = work / "fail.img";
  write_text(def, "Bootstrap: directory\nFrom: " + rootfs() + "\n%post\necho partial > /partial\nexit 3\n");
  auto post = cexec_build({out, def}, env);
  BOOST_CHECK_EQUAL(post.status, 3);
  BOOST_CHECK(contains(post.err, "%post (" + def + ":3) failed with exit status 3"));
  BOOST_CHECK(!fs::exists(out));
  check_no_build_leftovers(work.path());

  auto kept = cexec_build({"--keep-failed", out, def}, env);
  BOOST_CHECK_EQUAL(kept.status, 3);
  auto at = kept.err.find("partial root is kept in ");
  BOOST_REQUIRE(at != std::string::npos);
  std::string root = trim(kept.err.substr(at + 24, kept.err.find('\n', at) - at - 24));
  BOOST_CHECK_EQUAL(read_text(root + "/partial"), "partial\n");
  fs::remove_all(fs::path(root).parent_path());

  write_text(def, "Bootstrap: directory\nFrom: " + rootfs() + "\n%test\nexit 5\n");
  auto test = cexec_build({out, def}, env);
  BOOST_CHECK_EQUAL(test.status, 5);
  BOOST_CHECK(contains(test.err, "%test"));
  BOOST_CHECK(!fs::exists(out));
  auto notest = cexec_build({"--notest", out, def}, env);
  BOOST_CHECK_EQUAL(notest.status, 0);
  BOOST_CHECK(fs::exists(out));
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_CASE(unsafe_archive_members_are_refused_by_name) {
  TempDir t;
  host_sh("cd " + t.path() + " && mkdir -p in/sub && echo x > in/sub/f && echo x > outside && "
          "tar -C in -cPf dotdot.tar sub/f ../outside && tar -cPf absolute.tar " + t.path() + "/outside && "
          "mkdir -p esc1 esc2/escape && ln -s ../../../../../../../" + t.path().substr(1) + "/target esc1/escape && "
          "mkdir target && echo pwned > esc2/escape/pwned && tar -C esc1 -cf esc1.tar . && tar -C esc2 -cf esc2.tar escape/pwned && "
          "printf '%s' '{\"config\":{}}' > cfg.json && "
          "printf '%s' '[{\"Config\":\"cfg.json\",\"Layers\":[\"esc1.tar\",\"esc2.tar\"]}]' > manifest.json && "
          "tar -cf symlink.tar manifest.json cfg.json esc1.tar esc2.tar && "
          "printf '%s' '[{\"Config\":\"cfg.json\",\"Layers\":[\"dotdot.tar\"]}]' > manifest.json && "
          "tar -cf layer-dotdot.tar manifest.json cfg.json dotdot.tar",
          env);
  const std::pair<std::string, std::string> cases[] = {
      {t / "dotdot.tar", "archive member `../outside`: `..` component refused"},
      {t / "absolute.tar", "archive member `" + t / "outside" + "`: absolute path refused"},
      {t / "layer-dotdot.tar", "archive member `../outside`"},
      {t / "symlink.tar", "archive member `escape/pwned`: its path leaves the root through a symlink"},
  };
  for (const auto& [archive, message] : cases) {
    BOOST_TEST_INFO(archive);
    auto o = cexec_build({work / "bad.img", archive}, env);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::image_invalid));
    BOOST_CHECK_MESSAGE(contains(o.err, message), o.err);
    BOOST_CHECK(!fs::exists(work / "bad.img"));
  }
  BOOST_CHECK(fs::is_empty(t / "target"));
  check_no_build_leftovers(work.path());
}

// The tools' output (here: 500 lines of %post, as apt would print) goes to a log file, not to the
// terminal; stdout stays the digest alone; a failing phase shows its last lines and the log's path.
BOOST_AUTO_TEST_CASE(tool_output_goes_to_a_log_with_its_tail_on_failure) {
  std::string def = work / "chatty.def";
  std::string out = work / "chatty.img";
  auto write_def = [&](int status) {
    write_text(def, "Bootstrap: directory\nFrom: " + rootfs() +
                        "\n%post\ni=0; while [ $i -lt 500 ]; do i=$((i+1)); echo \"Setting up pkg$i (1.$i)\"; done\n"
                        "echo to-stderr >&2\nexit " + std::to_string(status) + "\n");
  };
  std::string logs = home.path() + "/.cache/cexec/build-logs";
  auto only_log = [&] {
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(logs)) {
      found.push_back(e.path());
    }
    return found;
  };
  write_def(0);
  auto o = cexec_build({out, def}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, sha256_of(out, env) + "\n");
  BOOST_CHECK(contains(o.err, "cexec build: [post] running %post in the new root\n"));
  BOOST_CHECK(!contains(o.err, "Setting up pkg"));
  BOOST_CHECK(!contains(o.err, "to-stderr"));
  auto first = only_log();
  BOOST_REQUIRE_EQUAL(first.size(), 1u);
  BOOST_CHECK(contains(o.err, "; the tools' output is in " + first[0] + "\n"));
  std::string text = read_text(first[0]);
  BOOST_CHECK(contains(text, "=== [post] running %post in the new root\nSetting up pkg1 (1.1)\n"));
  BOOST_CHECK(contains(text, "Setting up pkg500 (1.500)\nto-stderr\n"));
  struct stat st {};
  BOOST_REQUIRE_EQUAL(::stat(first[0].c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0600u);

  write_def(7);
  auto f = cexec_build({"--force", out, def}, env);
  BOOST_TEST_INFO(f);
  BOOST_CHECK_EQUAL(f.status, 7);
  BOOST_CHECK(contains(f.err, "cexec build: [post] the last lines of its output:\n"));
  BOOST_CHECK(contains(f.err, "  | Setting up pkg482 (1.482)\n"));
  BOOST_CHECK(contains(f.err, "  | Setting up pkg500 (1.500)\n  | to-stderr\n"));
  BOOST_CHECK(!contains(f.err, "Setting up pkg481 "));  // only the last 20 lines
  BOOST_CHECK(contains(f.err, "cexec build: full log: " + logs + "/chatty.img."));
  BOOST_CHECK(contains(f.err, "%post (" + def + ":3) failed with exit status 7"));
  BOOST_CHECK_EQUAL(only_log().size(), 2u);

  // -v: the tools write to the terminal, no log.
  write_def(0);
  fs::remove_all(logs);
  auto v = cexec_build({"-v", "--force", out, def}, env);
  BOOST_CHECK_EQUAL(v.status, 0);
  BOOST_CHECK(contains(v.err, "Setting up pkg500 (1.500)\n"));
  BOOST_CHECK(!fs::exists(logs));

  // The 20 newest logs are kept.
  fs::create_directories(logs);
  for (int i = 0; i < 25; ++i) {
    std::string old = logs + "/old" + std::to_string(i) + ".log";
    write_text(old, "old\n");
    host_sh("touch -d '2020-01-01 00:00:" + std::to_string(10 + i) + "' " + sh_quote(old), env);
  }
  BOOST_CHECK_EQUAL(cexec_build({"-q", "--force", out, def}, env).status, 0);
  auto kept = only_log();
  BOOST_CHECK_EQUAL(kept.size(), 20u);
  BOOST_CHECK(!fs::exists(logs + "/old5.log"));
  BOOST_CHECK(fs::exists(logs + "/old6.log"));

  // No writable cache folder: the build still works, a failure still shows the tail.
  Env no_cache = env;
  no_cache["XDG_CACHE_HOME"] = "/proc/cexec-no-such-dir";
  write_def(2);
  auto n = cexec_build({"--force", out, def}, no_cache);
  BOOST_CHECK_EQUAL(n.status, 2);
  BOOST_CHECK(contains(n.err, "  | to-stderr\n"));
  BOOST_CHECK_MESSAGE(contains(n.err, "cexec build: no log file (mkdir `/proc/cexec-no-such-dir`"), n.err);
  check_no_build_leftovers(work.path());
}

// The next two need a private mount namespace (root) or a nested user namespace (nobody, where
// cexec then runs as that namespace's root): a tmpfs hides the bootstrap tool, or is too small.
std::vector<std::string> in_mount_namespace(const std::string& script) {
  std::vector<std::string> argv{"unshare", "-m"};
  if (!is_root()) {
    argv.push_back("--map-root-user");
  }
  argv.insert(argv.end(), {"/bin/sh", "-ec", script});
  return argv;
}

BOOST_AUTO_TEST_CASE(missing_bootstrap_tool_names_its_package) {
  std::string def = work / "deb.def";
  write_text(def, "Bootstrap: debootstrap\nOSVersion: bookworm\n");
  auto o = run(in_mount_namespace("mount -t tmpfs none /usr/sbin && exec " + cexec_bin() + " build " +
                                  sh_quote(work / "deb.img") + " " + sh_quote(def)),
               env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::host_unsupported));
  BOOST_CHECK_MESSAGE(contains(o.err, "debootstrap not found: install the Debian package `debootstrap`"), o);
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_CASE(disk_full_while_squashing_leaves_nothing) {
  // 1 MiB of incompressible data: the copied root fits in 1600 KiB, the image next to it does not.
  std::string small = work / "small";
  host_sh("mkdir -p " + small + "/bin && cp /bin/busybox " + small + "/bin/ && head -c 1048576 /dev/urandom > " + small + "/random",
          env);
  host_sh("rm " + small + "/bin/busybox", env);
  std::string full = work / "full";
  fs::create_directory(full);
  auto o = run(in_mount_namespace("mount -t tmpfs -o size=1600k none " + sh_quote(full) + " && " + cexec_bin() + " build " +
                                  sh_quote(full + "/out.img") + " " + sh_quote(small) + "; rc=$?; ls -A " + sh_quote(full) +
                                  "; exit $rc"),
               env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::cannot_create));
  BOOST_CHECK_MESSAGE(contains(o.err, "no space left"), o);
  BOOST_CHECK_EQUAL(o.out, "");  // `ls -A` of the full file system: nothing left there
}

BOOST_AUTO_TEST_SUITE_END()

// --- a real debootstrap build (label `debootstrap`; needs the Debian mirror) ----------------------

BOOST_FIXTURE_TEST_SUITE(debootstrap, Case, *boost::unit_test::disabled())

BOOST_AUTO_TEST_CASE(bookworm_with_every_section) {
  command_timeout = std::chrono::seconds(1500);
  write_text(work / "greeting.txt", "hello from %files\n");
  std::string def = work / "bookworm.def";
  write_text(def,
             "Bootstrap: debootstrap\n"
             "OSVersion: bookworm\n"
             "MirrorURL: http://deb.debian.org/debian\n"
             "Include: python3-minimal\n"
             "\n"
             "%files\n"
             "greeting.txt /opt/greeting.txt\n"
             "%post\n"
             "apt-get update\n"
             "apt-get install -y --no-install-recommends hello\n"
             "apt-get clean\n"
             "rm -rf /var/lib/apt/lists/*\n"
             "echo built > /opt/post-marker\n"
             "%environment\n"
             "export APP_MODE=bookworm-test\n"
             "%runscript\n"
             "exec python3 -c 'import sys, os; print(\"py\", sys.version_info[0], os.environ[\"APP_MODE\"], *sys.argv[1:])' \"$@\"\n"
             "%labels\n"
             "Maintainer tests@example.com\n"
             "%test\n"
             "python3 -c 'import os, sys; print(sys.version_info[0])'\n"
             "hello\n"
             "test \"$APP_MODE\" = bookworm-test\n");
  std::string out = work / "bookworm.img";
  auto o = cexec_build({out, def}, env);
  BOOST_TEST_INFO(o.status << " stderr tail: " << o.err.substr(o.err.size() > 4000 ? o.err.size() - 4000 : 0));
  BOOST_REQUIRE_EQUAL(o.status, 0);
  // debootstrap's and apt's thousands of lines went to the log, one line per phase to stderr.
  BOOST_CHECK(!contains(o.err, "I: Retrieving"));
  BOOST_CHECK(contains(o.err, "cexec build: [bootstrap] debootstrap bookworm from "));
  auto log_at = o.err.find("; the tools' output is in ");
  BOOST_REQUIRE(log_at != std::string::npos);
  std::string log_text = read_text(trim(o.err.substr(log_at + 26, o.err.find('\n', log_at) - log_at - 26)));
  BOOST_CHECK(contains(log_text, "I: Retrieving libc6 "));
  BOOST_CHECK(contains(log_text, "Setting up hello "));
  auto r = run_cexec({"run", out, "a", "b"}, env);
  BOOST_CHECK_EQUAL(r.status, 0);
  BOOST_CHECK_EQUAL(r.out, "py 3 bookworm-test a b\n");
  auto e = run_cexec({"exec", out, "sh", "-c", "cat /opt/greeting.txt /opt/post-marker; hello; . /etc/os-release; echo $VERSION_CODENAME"}, env);
  BOOST_CHECK_EQUAL(e.status, 0);
  BOOST_CHECK_EQUAL(e.out, "hello from %files\nbuilt\nHello, world!\nbookworm\n");
  auto i = run_cexec({"inspect", out}, env);
  BOOST_CHECK(contains(i.out, "org.cexec.bootstrap=debootstrap"));
  BOOST_CHECK(contains(i.out, "Maintainer=tests@example.com"));
  BOOST_CHECK(contains(i.out, "digest: " + trim(o.out)));
  check_no_build_leftovers(work.path());
}

BOOST_AUTO_TEST_SUITE_END()
