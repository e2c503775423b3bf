// End-to-end tests of `cexec pull`, `Bootstrap: docker` and `cexec cache` against a real registry
// (Debian's docker-registry on 127.0.0.1, registry.hpp), run as root and as nobody: images pushed
// with skopeo are pulled, run and inspected; the layer cache is reused, listed and cleaned; 8
// concurrent pulls download each blob once; and each failure gives its one line and exit code:
// unknown repository or tag, unauthorized (no or wrong credentials), digest mismatch (a blob
// tampered with in the registry's storage), network down, a registry killed mid-download (after
// which a restarted registry and a new pull resume the layer and succeed).
#define BOOST_TEST_MODULE cexec_registry_e2e
#include <boost/test/unit_test.hpp>

#include "archive_trees.hpp"
#include "registry.hpp"

#include <regex>

using namespace e2e;

namespace {

// The registries and images every case uses, set up once per run of the program.
struct Registries {
  Env env = base_env("/tmp");
  TempDir inputs;
  std::unique_ptr<Registry> open, authed;
  std::string tampered_layer;  // the digest of test/tamper's layer, corrupted in storage

  Registries() {
    BOOST_REQUIRE_MESSAGE(contains(run({cexec_bin(), "--version"}, env).out, "test hooks: on"),
                          "the registry tests need a build with -DCEXEC_TEST_HOOKS=ON (CEXEC_TEST_PULL_RATE)");
    env["TMPDIR"] = inputs.path();
    open = std::make_unique<Registry>(env);
    authed = std::make_unique<Registry>(env, "tester", "s3cret");
    make_busybox_tree(inputs / "l1", env);
    make_whiteout_tree(inputs / "l2", env);
    host_sh("mkdir -p " + inputs / "app", env);
    std::string app = make_pushable_archive(inputs / "app", {inputs / "l1", inputs / "l2"}, image_config_json, env);
    open->push(app, "test/app:v1");
    authed->push(app, "test/app:v1");
    // test/tamper: a layer of its own, then one byte of it changed in the registry's storage.
    host_sh("mkdir -p " + inputs / "t1/data " + inputs / "tamper && echo tamper-only > " + inputs / "t1/data/file", env);
    open->push(make_pushable_archive(inputs / "tamper", {inputs / "l1", inputs / "t1"}, image_config_json, env), "test/tamper:v1");
    // skopeo recompresses layers as it pushes: the digest is the one in the manifest it wrote.
    std::string manifest = host_sh_out("curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://" +
                                           open->host() + "/v2/test/tamper/manifests/v1", env);
    size_t last = manifest.rfind("\"digest\":\"sha256:");
    BOOST_REQUIRE_MESSAGE(last != std::string::npos, "no layer digest in " << manifest);
    tampered_layer = manifest.substr(last + 10, 71);
    std::string data = open->storage() + "/docker/registry/v2/blobs/sha256/" + tampered_layer.substr(7, 2) + "/" +
                       tampered_layer.substr(7) + "/data";
    BOOST_REQUIRE_MESSAGE(fs::exists(data), "no blob file " << data);
    host_sh("printf X | dd of=" + data + " bs=1 seek=20 conv=notrunc 2>/dev/null", env);
  }
};

Registries& registries() {
  static Registries r;
  return r;
}

// Set up before Case records the temporary entries that exist, so they do not count as leftovers.
struct RegistriesFirst {
  RegistriesFirst() { registries(); }
};

struct PullCase : RegistriesFirst, Case {
  PullCase() {
    env["CEXEC_CACHE_DIR"] = work / "cache";
    env["TMPDIR"] = work.path();  // skopeo's and the shell's temporary files
  }
};

Outcome pull(const std::vector<std::string>& args, const Env& env) {
  std::vector<std::string> all{"pull"};
  all.insert(all.end(), args.begin(), args.end());
  return run_cexec(all, env);
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

size_t entries(const std::string& dir) {
  std::error_code ec;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir, ec), fs::directory_iterator()));
}

// A failed pull leaves no OUT, no work folder next to it, nothing half-written in the cache.
void check_failed_cleanly(const Outcome& o, ErrorKind kind, const std::string& message, const std::string& out,
                          const std::string& cache) {
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(kind));
  BOOST_CHECK(contains(o.err, message));
  BOOST_CHECK_EQUAL(count(o.err, "cexec: "), 1);  // one error line (the others are progress)
  BOOST_CHECK(!fs::exists(out));
  for (const auto& e : fs::directory_iterator(fs::path(out).parent_path())) {
    BOOST_CHECK_MESSAGE(!contains(e.path().filename(), ".cexec-build-"), "leftover " << e.path());
  }
  BOOST_CHECK_EQUAL(entries(cache + "/locks"), 0u);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(registry_pull, PullCase)

BOOST_AUTO_TEST_CASE(pull_runs_and_reuses_the_cache) {
  const Registry& reg = *registries().open;
  std::string out = work / "app.img";
  auto first = pull({"-v", out, reg.ref("test/app:v1")}, env);
  BOOST_TEST_INFO(first);
  BOOST_REQUIRE_EQUAL(first.status, 0);
  BOOST_CHECK_EQUAL(count(first.err, ": downloaded ("), 3);  // the config and two layers
  check_archive_image(out, env);
  BOOST_CHECK(contains(run_cexec({"inspect", out}, env).out, "org.cexec.bootstrap-source=" + reg.ref("test/app:v1")));
  // Again: every blob from the cache, nothing downloaded.
  auto again = pull({"-v", "--force", out, reg.ref("test/app:v1")}, env);
  BOOST_TEST_INFO(again);
  BOOST_REQUIRE_EQUAL(again.status, 0);
  BOOST_CHECK_EQUAL(count(again.err, ": downloaded ("), 0);
  BOOST_CHECK_EQUAL(count(again.err, ": cached ("), 3);
  BOOST_CHECK_EQUAL(entries(work / "cache/tmp"), 0u);
  BOOST_CHECK_EQUAL(entries(work / "cache/locks"), 0u);
  // By digest, as the first pull reported it.
  std::smatch m;
  BOOST_REQUIRE(std::regex_search(first.err, m, std::regex("manifest (sha256:[0-9a-f]{64})")));
  auto by_digest = pull({work / "digest.img", "docker://" + reg.host() + "/test/app@" + m[1].str()}, env);
  BOOST_CHECK_MESSAGE(by_digest.status == 0, by_digest);
  auto list = run_cexec({"cache", "list"}, env);
  BOOST_CHECK_EQUAL(list.status, 0);
  BOOST_CHECK_MESSAGE(contains(list.out, reg.ref("test/app:v1")) && contains(list.out, ": 4 blobs"), list);
  auto clean = run_cexec({"cache", "clean"}, env);
  BOOST_CHECK_EQUAL(clean.status, 0);
  BOOST_CHECK_EQUAL(entries(work / "cache/blobs/sha256"), 0u);
  BOOST_CHECK(contains(run_cexec({"cache", "list"}, env).out, ": 0 blobs"));
}

BOOST_AUTO_TEST_CASE(default_cache_is_in_the_home) {
  env.erase("CEXEC_CACHE_DIR");
  auto o = pull({work / "home.img", registries().open->ref("test/app:v1")}, env);
  BOOST_CHECK_MESSAGE(o.status == 0, o);
  BOOST_CHECK_EQUAL(entries(home / ".cache/cexec/blobs/sha256"), 4u);  // manifest, config, two layers
}

BOOST_AUTO_TEST_CASE(definition_file_bootstraps_from_the_registry) {
  std::string def = work / "app.def";
  write_text(def, "Bootstrap: docker\nFrom: " + registries().open->host() + "/test/app:v1\n%post\necho built > /work/built\n");
  auto o = run_cexec({"build", work / "def.img", def}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  check_archive_image(work / "def.img", env);
  BOOST_CHECK_EQUAL(run_cexec({"exec", work / "def.img", "cat", "/work/built"}, env).out, "built\n");
}

BOOST_AUTO_TEST_CASE(unknown_names_and_tags_and_bad_references) {
  const Registry& reg = *registries().open;
  std::string out = work / "x.img", cache = work / "cache";
  check_failed_cleanly(pull({out, reg.ref("test/nope:v1")}, env), ErrorKind::input_missing,
                       "repository `test/nope` unknown to " + reg.host(), out, cache);
  check_failed_cleanly(pull({out, reg.ref("test/app:v9")}, env), ErrorKind::input_missing, "tag `v9` unknown", out, cache);
  check_failed_cleanly(pull({out, "docker://" + reg.host() + "/test/app@sha256:" + std::string(64, '0')}, env),
                       ErrorKind::input_missing, "unknown in", out, cache);
  check_failed_cleanly(pull({out, "docker://" + reg.host() + "/Test/App"}, env), ErrorKind::usage, "repository `Test/App`", out, cache);
  check_failed_cleanly(pull({out, "app.tar"}, env), ErrorKind::usage, "is not a registry image", out, cache);
}

BOOST_AUTO_TEST_CASE(network_down) {
  std::string out = work / "x.img";
  auto o = pull({out, "docker://127.0.0.1:" + std::to_string(free_port()) + "/test/app:v1"}, env);
  check_failed_cleanly(o, ErrorKind::registry, "cannot fetch the manifest", out, work / "cache");
}

BOOST_AUTO_TEST_CASE(credentials_missing_wrong_and_right) {
  const Registry& reg = *registries().authed;
  std::string out = work / "auth.img", cache = work / "cache";
  check_failed_cleanly(pull({out, reg.ref("test/app:v1")}, env), ErrorKind::registry,
                       "unauthorized (no credentials for " + reg.host(), out, cache);
  auto auth_file = [&](const std::string& user_pass) {
    std::string b64 = trim(host_sh_out("printf %s '" + user_pass + "' | base64 -w0", env));
    return "{\"auths\":{\"" + reg.host() + "\":{\"auth\":\"" + b64 + "\"}}}";
  };
  write_text(work / "wrong.json", auth_file("tester:wrong"));
  env["REGISTRY_AUTH_FILE"] = work / "wrong.json";
  check_failed_cleanly(pull({out, reg.ref("test/app:v1")}, env), ErrorKind::registry, "were refused", out, cache);
  env.erase("REGISTRY_AUTH_FILE");
  host_sh("mkdir -p " + home / ".docker", env);
  write_text(home / ".docker/config.json", auth_file("tester:s3cret"));
  auto ok = pull({out, reg.ref("test/app:v1")}, env);
  BOOST_TEST_INFO(ok);
  BOOST_REQUIRE_EQUAL(ok.status, 0);
  check_archive_image(out, env);
}

BOOST_AUTO_TEST_CASE(tampered_blob_is_refused) {
  std::string out = work / "t.img", cache = work / "cache";
  auto o = pull({out, registries().open->ref("test/tamper:v1")}, env);
  check_failed_cleanly(o, ErrorKind::image_invalid, "blob " + registries().tampered_layer + ": digest mismatch", out, cache);
  BOOST_CHECK(!fs::exists(cache + "/blobs/sha256/" + registries().tampered_layer.substr(7)));
  BOOST_CHECK_EQUAL(entries(cache + "/tmp"), 0u);
}

BOOST_AUTO_TEST_CASE(eight_concurrent_pulls_download_each_blob_once) {
  const Registry& reg = *registries().open;
  std::string script = "cd " + work.path() + " && for i in 1 2 3 4 5 6 7 8; do (" + cexec_bin() + " pull -v out$i.img " +
                       reg.ref("test/app:v1") + " 2> err$i; echo $? > rc$i) & done; wait";
  host_sh(script, env);
  std::string all;
  for (int i = 1; i <= 8; ++i) {
    std::string err = read_text(work / ("err" + std::to_string(i)));
    BOOST_CHECK_MESSAGE(trim(read_text(work / ("rc" + std::to_string(i)))) == "0", "pull " << i << ": " << err);
    all += err;
  }
  BOOST_CHECK_EQUAL(count(all, ": downloaded ("), 3);
  BOOST_CHECK_EQUAL(count(all, ": cached ("), 8 * 3 - 3);
  BOOST_CHECK_EQUAL(entries(work / "cache/locks"), 0u);
  BOOST_CHECK_EQUAL(entries(work / "cache/tmp"), 0u);
  check_archive_image(work / "out8.img", env);
}

BOOST_AUTO_TEST_CASE(registry_killed_mid_download_then_resumed) {
  Registry reg(env);
  host_sh("mkdir -p " + work / "big/data " + work / "img && head -c 16777216 /dev/urandom > " + work / "big/data/random", env);
  make_busybox_tree(work / "small", env);
  reg.push(make_pushable_archive(work / "img", {work / "small", work / "big"}, image_config_json, env), "test/big:v1");
  env["CEXEC_TEST_PULL_RATE"] = "4194304";  // 4 MiB/s: the 16 MiB layer takes about 4 s
  std::string out = work / "big.img", tmp = work / "cache/tmp";
  auto partial_bytes = [&] {
    uintmax_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(tmp, ec)) {
      n = std::max(n, e.file_size(ec));
    }
    return n;
  };
  bool killed = false;
  auto o = run({cexec_bin(), "pull", "-v", out, reg.ref("test/big:v1")}, env, "/", "", [&](pid_t, const std::string&) {
    if (partial_bytes() >= (4u << 20)) {  // inside the 16 MiB layer, past the small ones
      reg.kill9();
      killed = true;
    }
    return killed;
  });
  BOOST_REQUIRE(killed);
  check_failed_cleanly(o, ErrorKind::registry, "failed after 3 attempts", out, work / "cache");
  BOOST_CHECK_EQUAL(entries(tmp), 1u);  // the partial layer, kept for the next pull
  reg.start();
  auto resumed = pull({"-v", out, reg.ref("test/big:v1")}, env);
  BOOST_TEST_INFO(resumed);
  BOOST_REQUIRE_EQUAL(resumed.status, 0);
  BOOST_CHECK(contains(resumed.err, "resuming at byte"));
  BOOST_CHECK_EQUAL(entries(tmp), 0u);
  BOOST_CHECK_EQUAL(run_cexec({"exec", out, "stat", "-c", "%s", "/data/random"}, env).out, "16777216\n");
}

BOOST_AUTO_TEST_SUITE_END()
