// Unit tests for the rest of the pure build modules: archive member rules and whiteouts, Docker and
// OCI manifests and configs, /.cexec/ metadata rendering, the build plan and SHA-256.
#include "builder/archive_rules.hpp"
#include "builder/build_plan.hpp"
#include "builder/image_config.hpp"
#include "builder/metadata.hpp"
#include "base/sha256.hpp"
#include "base/environment.hpp"

#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>

BOOST_TEST_DONT_PRINT_LOG_VALUE(cexec::build::Label)

namespace cexec::build {

std::ostream& operator<<(std::ostream& os, const Whiteout& w) {
  return os << static_cast<int>(w.kind) << ":" << w.target;
}
std::ostream& operator<<(std::ostream& os, const IdRange& r) { return os << r.start << "+" << r.count; }
std::ostream& operator<<(std::ostream& os, Stage s) { return os << stage_name(s); }
std::ostream& operator<<(std::ostream& os, SpecKind k) { return os << static_cast<int>(k); }
std::ostream& operator<<(std::ostream& os, Fakeroot f) { return os << fakeroot_name(f); }
std::ostream& operator<<(std::ostream& os, Bootstrap b);

namespace {

template <typename T>
T ok(Result<T> r) {
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  return std::move(r).value();
}

const std::string digest_a = "sha256:" + std::string(64, 'a');
const std::string digest_b = "sha256:" + std::string(64, 'b');
const std::string digest_c = "sha256:" + std::string(64, 'c');

BOOST_AUTO_TEST_SUITE(archive_rules)

BOOST_AUTO_TEST_CASE(member_names_are_normalized) {
  BOOST_TEST(ok(normalize_member_path("./usr//bin/")) == "usr/bin");
  BOOST_TEST(ok(normalize_member_path("etc/./passwd")) == "etc/passwd");
  BOOST_TEST(ok(normalize_member_path("./")) == "");
  BOOST_TEST(ok(normalize_member_path("..foo/bar..")) == "..foo/bar..");
}

BOOST_AUTO_TEST_CASE(escaping_member_names_are_refused_by_name) {
  for (const char* bad : {"../etc/passwd", "a/../../b", "/etc/shadow", "a/.."}) {
    auto r = normalize_member_path(bad);
    BOOST_TEST_REQUIRE(!r.has_value(), bad);
    BOOST_TEST(r.failure().message.find(std::string("`") + bad + "`") != std::string::npos, r.failure().message);
    BOOST_TEST(static_cast<int>(r.failure().kind) == static_cast<int>(ErrorKind::image_invalid));
  }
}

BOOST_AUTO_TEST_CASE(whiteouts) {
  BOOST_TEST(classify_member("etc/passwd") == Whiteout{});
  BOOST_TEST(classify_member("etc/.wh.passwd") == (Whiteout{WhiteoutKind::remove, "etc/passwd"}));
  BOOST_TEST(classify_member(".wh.top") == (Whiteout{WhiteoutKind::remove, "top"}));
  BOOST_TEST(classify_member("var/cache/.wh..wh..opq") == (Whiteout{WhiteoutKind::opaque, "var/cache"}));
  BOOST_TEST(classify_member(".wh..wh..opq") == (Whiteout{WhiteoutKind::opaque, ""}));
  BOOST_TEST(classify_member("etc/.wh.") == Whiteout{});
  BOOST_TEST(classify_member("etc/x.wh.y") == Whiteout{});
}

BOOST_AUTO_TEST_CASE(blob_paths_come_only_from_sha256_digests) {
  BOOST_TEST(ok(blob_path(digest_a)) == "blobs/sha256/" + std::string(64, 'a'));
  for (const std::string& bad : std::vector<std::string>{"sha256:../../etc/passwd", "sha512:" + std::string(128, 'a'), "sha256:ABC",
                                "sha256:" + std::string(63, 'a') + "/", std::string("")}) {
    BOOST_TEST(!blob_path(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(image_config)

BOOST_AUTO_TEST_CASE(docker_manifest) {
  auto l = ok(parse_docker_manifest(R"([{"Config":"abc.json","RepoTags":["x:1"],"Layers":["l1/layer.tar","./l2/layer.tar"]}])"));
  BOOST_TEST(l.config == "abc.json");
  BOOST_TEST(l.layers == (std::vector<std::string>{"l1/layer.tar", "l2/layer.tar"}), boost::test_tools::per_element());
  BOOST_TEST(!parse_docker_manifest(R"([{"Config":"../x.json","Layers":[]}])").has_value());
  BOOST_TEST(!parse_docker_manifest(R"([{"Config":"x.json","Layers":["/abs/layer.tar"]}])").has_value());
  BOOST_TEST(!parse_docker_manifest("{}").has_value());
  BOOST_TEST(!parse_docker_manifest("not json").has_value());
  BOOST_TEST(!parse_docker_manifest(R"([{"Config":7}])").has_value());
}

BOOST_AUTO_TEST_CASE(oci_index_picks_the_platform) {
  std::string index = R"({"schemaVersion":2,"manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + digest_a + R"(","platform":{"os":"linux","architecture":"arm64"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + digest_b + R"(","platform":{"os":"linux","architecture":"amd64"}}]})";
  auto ref = ok(parse_oci_index(index, "amd64"));
  BOOST_TEST(ref.path == "blobs/sha256/" + std::string(64, 'b'));
  BOOST_TEST(!ref.is_index);
  BOOST_TEST(!parse_oci_index(index, "riscv64").has_value());
  std::string nested = R"({"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":")" + digest_c + R"("}]})";
  BOOST_TEST(ok(parse_oci_index(nested, "amd64")).is_index);
  BOOST_TEST(!parse_oci_index(R"({"manifests":[{"digest":"sha256:../../x"}]})", "amd64").has_value());
  BOOST_TEST(!parse_oci_index(R"({"manifests":[]})", "amd64").has_value());
  BOOST_TEST(!parse_oci_index(R"({"manifests":[{"digest":5}]})", "amd64").has_value());
}

BOOST_AUTO_TEST_CASE(oci_manifest) {
  std::string m = R"({"config":{"digest":")" + digest_a + R"("},"layers":[{"digest":")" + digest_b + R"("},{"digest":")" + digest_c + R"("}]})";
  auto l = ok(parse_oci_manifest(m));
  BOOST_TEST(l.config == "blobs/sha256/" + std::string(64, 'a'));
  BOOST_TEST_REQUIRE(l.layers.size() == 2u);
  BOOST_TEST(l.layers[1] == "blobs/sha256/" + std::string(64, 'c'));
  BOOST_TEST(!parse_oci_manifest(R"({"layers":[]})").has_value());
}

BOOST_AUTO_TEST_CASE(config_to_metadata) {
  auto meta = ok(metadata_from_image_config(R"({"architecture":"amd64","config":{
      "Env":["PATH=/opt/app/bin:/usr/bin:/bin","PRICE=$5","QUOTED=\"q\""],
      "Entrypoint":["/app/run","--flag"],"Cmd":["it's","default"],"WorkingDir":"/work dir",
      "Labels":{"org.opencontainers.image.title":"app","bad label":"x"}}})"));
  BOOST_TEST(meta.environment.value() == "PATH=/opt/app/bin:/usr/bin:/bin\nPRICE=\\$5\nQUOTED='\"q\"'\n");
  // The environment file reads back to the config's literal values.
  EnvList env = ok(parse_env_text(*meta.environment, "env"));
  BOOST_TEST(expand_env_value(env[1].second, {}) == "$5");
  BOOST_TEST(expand_env_value(env[2].second, {}) == "\"q\"");
  BOOST_TEST(meta.runscript.value() ==
             "#!/bin/sh\n# From the image config: Entrypoint + Cmd; arguments replace Cmd.\n"
             "cd '/work dir' || exit 1\n"
             "if [ $# -gt 0 ]; then\n  exec '/app/run' '--flag' \"$@\"\nfi\n"
             "exec '/app/run' '--flag' 'it'\\''s' 'default'\n");
  BOOST_TEST_REQUIRE(meta.labels.size() == 1u);
  BOOST_TEST(meta.labels[0].first == "org.opencontainers.image.title");
}

BOOST_AUTO_TEST_CASE(config_without_entrypoint_or_cmd) {
  auto meta = ok(metadata_from_image_config(R"({"config":{"Cmd":null,"WorkingDir":null}})"));
  BOOST_TEST(meta.runscript.value().ends_with("exec /bin/sh \"$@\"\n"));
  auto cmd_only = ok(metadata_from_image_config(R"({"config":{"Cmd":["/bin/sh","-c","echo hi"]}})"));
  BOOST_TEST(cmd_only.runscript.value().find("  exec \"$@\"\n") != std::string::npos);
  BOOST_TEST(!metadata_from_image_config("[]").has_value());
  BOOST_TEST(!metadata_from_image_config(R"({"config":{"Env":["A=line\nbreak"]}})").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metadata)

BOOST_AUTO_TEST_CASE(labels_round_trip_and_merge) {
  std::vector<Label> labels{{"org.cexec.version", "0.1.0"}, {"Author", "a b=c"}};
  std::string text = render_labels(labels);
  BOOST_TEST(text == "org.cexec.version=0.1.0\nAuthor=a b=c\n");
  auto back = ok(parse_labels_text(text, "labels"));
  BOOST_TEST(back == labels, boost::test_tools::per_element());
  auto merged = merge_labels(labels, {{"Author", "new"}, {"extra", "1"}});
  BOOST_TEST(render_labels(merged) == "org.cexec.version=0.1.0\nAuthor=new\nextra=1\n");
  BOOST_TEST(render_labels({{"multi", "two\nlines"}}) == "multi=two lines\n");
  BOOST_TEST(!parse_labels_text("no equals sign\n", "labels").has_value());
}

BOOST_AUTO_TEST_CASE(scripts_and_quoting) {
  BOOST_TEST(render_script(Script{"echo hi", "/bin/bash", 3}) == "#!/bin/bash\necho hi\n");
  BOOST_TEST(shell_quote("it's") == "'it'\\''s'");
}

BOOST_AUTO_TEST_CASE(definition_metadata) {
  auto def = ok(parse_definition("Bootstrap: directory\nFrom: /r\n%runscript\necho run\n%environment\nA=1\n"
                                 "%labels\nk v\n%help\nhelp text\n", "x.def"));
  auto m = metadata_from_definition(def);
  BOOST_TEST(m.runscript.value() == "#!/bin/sh\necho run\n");
  BOOST_TEST(m.environment.value() == "A=1\n");
  BOOST_TEST(m.help.value() == "help text\n");
  BOOST_TEST(m.definition.value() == def.text);
  BOOST_TEST_REQUIRE(m.labels.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(build_plan)

IdentityFacts user(uid_t uid) {
  IdentityFacts who;
  who.uid = uid;
  who.gid = uid;
  who.user_name = "alice";
  return who;
}

BOOST_AUTO_TEST_CASE(subordinate_id_ranges) {
  std::string text = "bob:100000:65536\nalice:165536:65536\n1001:300000:1000\nbroken\ncarol:x:5\n";
  BOOST_TEST(try_find_subid_range(text, "alice", 1000).value() == (IdRange{165536, 65536}));
  BOOST_TEST(try_find_subid_range(text, "nobody", 1001).value() == (IdRange{300000, 1000}));
  BOOST_TEST(!try_find_subid_range(text, "carol", 7).has_value());
  BOOST_TEST(!try_find_subid_range("", "alice", 1000).has_value());
}

BOOST_AUTO_TEST_CASE(fakeroot_choice) {
  BOOST_TEST(plan_fakeroot(user(0)).mode == Fakeroot::real_root);
  IdentityFacts who = user(1000);
  BOOST_TEST(plan_fakeroot(who).mode == Fakeroot::seccomp);
  who.subuid_text = "alice:165536:65536\n";
  who.subgid_text = "alice:165536:65536\n";
  BOOST_TEST(plan_fakeroot(who).mode == Fakeroot::seccomp);  // no newuidmap
  who.has_newidmap = true;
  auto p = plan_fakeroot(who);
  BOOST_TEST(p.mode == Fakeroot::subordinate_ids);
  BOOST_TEST(p.subgid == (IdRange{165536, 65536}));
}

BOOST_AUTO_TEST_CASE(spec_files_are_classified_by_content) {
  BOOST_TEST(classify_spec_file("hsqs....") == SpecKind::squashfs);
  BOOST_TEST(classify_spec_file("\x1f\x8b\x08") == SpecKind::docker_archive);
  BOOST_TEST(classify_spec_file("\x28\xb5\x2f\xfd") == SpecKind::docker_archive);
  std::string tar(512, '\0');
  tar.replace(257, 5, "ustar");
  BOOST_TEST(classify_spec_file(tar) == SpecKind::docker_archive);
  BOOST_TEST(classify_spec_file("Bootstrap: directory\n") == SpecKind::definition);
}

BOOST_AUTO_TEST_CASE(plan_stages_labels_and_paths) {
  BuildOptions o;
  o.output = "/out/img.sqfs";
  o.spec = "/defs/app.def";
  SpecFacts spec{"/defs/app.def", SpecKind::definition,
                 "Bootstrap: localimage\nFrom: base.img\n%post\ntrue\n%test\ntrue\n%labels\nk v\n"};
  auto plan = ok(plan_build(o, spec, user(1000), "2024-01-02T03:04:05Z", "9.9"));
  BOOST_TEST(plan.definition.from == "/defs/base.img");  // relative to the definition file
  BOOST_TEST(plan.source_dir == "/defs");
  BOOST_TEST(plan.stages == (std::vector<Stage>{Stage::bootstrap, Stage::post, Stage::metadata, Stage::test, Stage::squash}),
             boost::test_tools::per_element());
  BOOST_TEST(plan.build_labels ==
                 (std::vector<Label>{{"org.cexec.build-date", "2024-01-02T03:04:05Z"}, {"org.cexec.version", "9.9"},
                                     {"org.cexec.bootstrap", "localimage"}, {"org.cexec.bootstrap-source", "/defs/base.img"}}),
             boost::test_tools::per_element());
  BOOST_TEST(plan.metadata.labels.size() == 1u);
  BOOST_TEST(describe(plan).find("stages: bootstrap post metadata test squash") != std::string::npos, describe(plan));

  o.notest = true;
  o.sandbox = true;
  auto sandbox = ok(plan_build(o, spec, user(1000), "d", "v"));
  BOOST_TEST(sandbox.stages == (std::vector<Stage>{Stage::bootstrap, Stage::post, Stage::metadata}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(plan_for_a_directory_spec) {
  BuildOptions o;
  o.output = "/out/img";
  SpecFacts spec{"/srv/rootfs", SpecKind::directory, ""};
  auto plan = ok(plan_build(o, spec, user(0), "d", "v"));
  BOOST_TEST(plan.definition.bootstrap == Bootstrap::directory);
  BOOST_TEST(plan.definition.from == "/srv/rootfs");
  BOOST_TEST(plan.fakeroot.mode == Fakeroot::real_root);
  BOOST_TEST(!plan.metadata.definition.has_value());
}

BOOST_AUTO_TEST_CASE(plan_errors) {
  BuildOptions o;
  o.output = "/out/img";
  SpecFacts spec{"/d/x.def", SpecKind::definition, "Bootstrap: nothing\n"};
  auto bad_def = plan_build(o, spec, user(0), "d", "v");
  BOOST_TEST_REQUIRE(!bad_def.has_value());
  BOOST_TEST(bad_def.failure().message.find("/d/x.def:1:") != std::string::npos);
  o.compression = "lzma";
  auto bad_comp = plan_build(o, SpecFacts{"/r", SpecKind::directory, ""}, user(0), "d", "v");
  BOOST_TEST_REQUIRE(!bad_comp.has_value());
  BOOST_TEST(bad_comp.failure().message.find("--compression") != std::string::npos);
  for (const char* c : {"zstd", "gzip", "xz", "lz4", "lzo"}) {
    BOOST_TEST(is_supported_compression(c));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sha256)

std::string digest_of(const std::string& data, size_t chunk) {
  Sha256 h;
  for (size_t i = 0; i < data.size(); i += chunk) {
    h.update(std::string_view(data).substr(i, chunk));
  }
  return h.hex_digest();
}

BOOST_AUTO_TEST_CASE(known_vectors_in_any_chunking) {
  // FIPS 180-4 examples and the empty string.
  BOOST_TEST(digest_of("", 1) == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string abc_digest = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  BOOST_TEST(digest_of("abc", 1) == abc_digest);
  BOOST_TEST(digest_of("abc", 3) == abc_digest);
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (size_t chunk : {1u, 7u, 55u, 56u, 64u, 100u}) {
    BOOST_TEST(digest_of(two_blocks, chunk) == "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  }
  BOOST_TEST(digest_of(std::string(1000000, 'a'), 4096) ==
             "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec::build
