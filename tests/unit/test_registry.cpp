// The registry client's pure parts (registry/): references, auth files, WWW-Authenticate challenges,
// token answers, manifests and indexes, registry error bodies; and the config keys that steer pulls.
#include "auth.hpp"
#include "config.hpp"
#include "manifest.hpp"
#include "reference.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

namespace cexec::registry {
namespace {

const std::string d1 = "sha256:" + std::string(64, 'a');
const std::string d2 = "sha256:" + std::string(64, 'b');
const std::string d3 = "sha256:" + std::string(64, 'c');

Reference parse_ok(std::string_view text) {
  auto r = parse_reference(text);
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  return r.value();
}

std::string image_manifest(const std::string& layer_type) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + d1 + R"(","size":12},
    "layers":[{"mediaType":")" + layer_type + R"(","digest":")" + d2 + R"(","size":100},
              {"mediaType":")" + layer_type + R"(","digest":")" + d3 + R"(","size":200}]})";
}

BOOST_AUTO_TEST_SUITE(registry_reference)

BOOST_AUTO_TEST_CASE(host_port_repository_tag) {
  Reference r = parse_ok("docker://127.0.0.1:5000/team/app:v1.2");
  BOOST_TEST(r.registry == "127.0.0.1:5000");
  BOOST_TEST(r.host() == "127.0.0.1");
  BOOST_TEST(r.repository == "team/app");
  BOOST_TEST(r.tag == "v1.2");
  BOOST_TEST(r.digest.empty());
  BOOST_TEST(r.text() == "docker://127.0.0.1:5000/team/app:v1.2");
}

BOOST_AUTO_TEST_CASE(docker_hub_shorthand_and_default_tag) {
  Reference r = parse_ok("docker://ubuntu");
  BOOST_TEST(r.registry == "registry-1.docker.io");
  BOOST_TEST(r.repository == "library/ubuntu");
  BOOST_TEST(r.tag == "latest");
  BOOST_TEST(parse_ok("ubuntu:22.04").text() == "docker://registry-1.docker.io/library/ubuntu:22.04");
  BOOST_TEST(parse_ok("nvidia/cuda:12.2.0-base").repository == "nvidia/cuda");
  BOOST_TEST(parse_ok("localhost/app").registry == "localhost");
}

BOOST_AUTO_TEST_CASE(digest_wins) {
  Reference r = parse_ok("docker://reg.example.org/app@" + d1);
  BOOST_TEST(r.digest == d1);
  BOOST_TEST(r.tag_or_digest() == d1);
  BOOST_TEST(r.text() == "docker://reg.example.org/app@" + d1);
}

BOOST_AUTO_TEST_CASE(bad_references_name_the_reason) {
  const std::pair<std::string, std::string> cases[] = {
      {"docker://", "no repository"},
      {"docker://Reg.example.org/App", "repository `App`"},
      {"docker://127.0.0.1:5000/app:", "tag ``"},
      {"docker://127.0.0.1:50x0/app", "is not a host[:port]"},
      {"docker://127.0.0.1:5000/a//b", "repository"},
      {"docker://127.0.0.1:5000/../b", "repository"},
      {"docker://127.0.0.1/app@sha256:abc", "digest"},
      {"docker://127.0.0.1/app@md5:" + std::string(64, 'a'), "digest"},
      {"docker://127.0.0.1/app:-x", "tag"},
  };
  for (const auto& [text, want] : cases) {
    BOOST_TEST_CONTEXT(text) {
      auto r = parse_reference(text);
      BOOST_TEST_REQUIRE(!r.has_value());
      BOOST_TEST((r.failure().kind == ErrorKind::usage));
      BOOST_TEST(r.failure().message.find(want) != std::string::npos, r.failure().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(loopback_hosts_and_prefix) {
  BOOST_TEST(is_loopback_host("127.0.0.1"));
  BOOST_TEST(is_loopback_host("127.1.2.3"));
  BOOST_TEST(is_loopback_host("localhost"));
  BOOST_TEST(!is_loopback_host("registry.example.org"));
  BOOST_TEST(!is_loopback_host("1270.0.0.1"));
  BOOST_TEST(is_registry_reference("docker://x/y"));
  BOOST_TEST(!is_registry_reference("app.tar"));
  BOOST_TEST(is_valid_digest(d1));
  BOOST_TEST(!is_valid_digest("sha256:" + std::string(64, 'A')));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registry_auth)

BOOST_AUTO_TEST_CASE(base64_round_trip) {
  for (std::string s : {"", "a", "ab", "abc", "user:pa ss:wörd"}) {
    BOOST_TEST(base64_decode(base64_encode(s)).value() == s);
  }
  BOOST_TEST(base64_encode("tester:secret") == "dGVzdGVyOnNlY3JldA==");
  BOOST_TEST(!base64_decode("a$b").has_value());
}

BOOST_AUTO_TEST_CASE(credentials_by_registry_key_forms) {
  std::string json = R"({"auths":{"https://127.0.0.1:5000/v1/":{"auth":"dGVzdGVyOnNlY3JldA=="},
                                   "https://index.docker.io/v1/":{"auth":")" + base64_encode("hub:pw") + R"("},
                                   "helper.example.org":{}},
                         "credsStore":"desktop"})";
  auto c = find_credentials(json, "127.0.0.1:5000");
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST_REQUIRE(c.value().has_value());
  BOOST_TEST(c.value()->user == "tester");
  BOOST_TEST(c.value()->password == "secret");
  BOOST_TEST(find_credentials(json, "registry-1.docker.io").value()->user == "hub");
  BOOST_TEST(!find_credentials(json, "127.0.0.1:5001").value().has_value());
  BOOST_TEST(!find_credentials(json, "helper.example.org").value().has_value());
  BOOST_TEST(!find_credentials("{}", "x").value().has_value());
}

BOOST_AUTO_TEST_CASE(malformed_auth_files_fail) {
  for (std::string json : {"", "[1]", R"({"auths":[]})", R"({"auths":{"r":{"auth":"bm9jb2xvbg=="}}})"}) {
    BOOST_TEST_CONTEXT(json) {
      auto c = find_credentials(json, "r");
      BOOST_TEST_REQUIRE(!c.has_value());
      BOOST_TEST((c.failure().kind == ErrorKind::config));
    }
  }
}

BOOST_AUTO_TEST_CASE(bearer_challenge_and_token_url) {
  auto c = parse_challenge(R"(Bearer realm="https://auth.example.org/token",service="registry.example.org",scope="repository:team/app:pull")");
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c->scheme == "bearer");
  BOOST_TEST(c->params.at("realm") == "https://auth.example.org/token");
  BOOST_TEST(token_url(*c, "ignored") ==
             "https://auth.example.org/token?service=registry.example.org&scope=repository%3Ateam%2Fapp%3Apull");
  auto basic = parse_challenge(R"(Basic realm="Registry Realm")");
  BOOST_TEST_REQUIRE(basic.has_value());
  BOOST_TEST(basic->scheme == "basic");
  BOOST_TEST(basic->params.at("realm") == "Registry Realm");
  auto no_scope = parse_challenge(R"(Bearer realm="https://a/t?x=1")");
  BOOST_TEST(token_url(*no_scope, "repository:r:pull") == "https://a/t?x=1&scope=repository%3Ar%3Apull");
  BOOST_TEST(!parse_challenge("").has_value());
  BOOST_TEST(!parse_challenge(R"(Bearer realm="unterminated)").has_value());
  BOOST_TEST(!parse_challenge("Bearer =x").has_value());
}

BOOST_AUTO_TEST_CASE(token_answers) {
  BOOST_TEST(parse_token_response(R"({"token":"t1"})").value() == "t1");
  BOOST_TEST(parse_token_response(R"({"access_token":"t2","expires_in":300})").value() == "t2");
  BOOST_TEST(!parse_token_response(R"({"token":""})").has_value());
  BOOST_TEST(!parse_token_response("nope").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registry_manifest)

BOOST_AUTO_TEST_CASE(oci_and_docker_image_manifests) {
  for (std::string type : {"application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip",
                           "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+zstd"}) {
    auto m = parse_manifest(image_manifest(type), "", "amd64");
    BOOST_TEST_REQUIRE(m.has_value(), (m ? "" : m.failure().message));
    BOOST_TEST(!m.value().is_index);
    BOOST_TEST(m.value().image.config.digest == d1);
    BOOST_TEST_REQUIRE(m.value().image.layers.size() == 2u);
    BOOST_TEST(m.value().image.layers[0].digest == d2);
    BOOST_TEST(m.value().image.layers[1].size == 200u);
  }
}

BOOST_AUTO_TEST_CASE(index_chooses_linux_and_the_architecture) {
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d1 + R"(","size":1,"platform":{"os":"linux","architecture":"arm64"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d3 + R"(","size":1,"annotations":{"vnd.docker.reference.type":"attestation-manifest"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d2 + R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}}]})";
  auto m = parse_manifest(index, "", "amd64");
  BOOST_TEST_REQUIRE(m.has_value());
  BOOST_TEST(m.value().is_index);
  BOOST_TEST(m.value().chosen.digest == d2);
  BOOST_TEST(parse_manifest(index, "", "arm64").value().chosen.digest == d1);
  auto none = parse_manifest(index, "", "riscv64");
  BOOST_TEST_REQUIRE(!none.has_value());
  BOOST_TEST(none.failure().message.find("no linux/riscv64 variant (it has: linux/arm64, linux/amd64)") != std::string::npos,
             none.failure().message);
}

BOOST_AUTO_TEST_CASE(docker_manifest_list_by_content_type) {
  std::string list = R"({"schemaVersion":2,"manifests":[{"mediaType":"x","digest":")" + d2 +
                     R"(","size":5,"platform":{"os":"linux","architecture":"amd64"}}]})";
  auto m = parse_manifest(list, "application/vnd.docker.distribution.manifest.list.v2+json", "amd64");
  BOOST_TEST_REQUIRE(m.has_value());
  BOOST_TEST(m.value().is_index);
}

BOOST_AUTO_TEST_CASE(unusable_manifests_are_refused) {
  const std::pair<std::string, std::string> cases[] = {
      {"not json", "not a JSON object"},
      {R"({"schemaVersion":1,"fsLayers":[]})", "schema 1"},
      {R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]})", "no \"config\""},
      {R"({"mediaType":"text/html"})", "unsupported media type `text/html`"},
      {image_manifest("application/vnd.oci.image.config.v1+json"), "not a tar layer"},
      {R"({"config":{"digest":"sha256:12","size":1},"layers":[]})", "no sha256 digest"},
      {R"({"config":{"digest":")" + d1 + R"(","size":-1},"layers":[]})", "has no size"},
      {R"({"config":{"digest":")" + d1 + R"(","size":1},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":")" +
           d2 + R"(","size":1,"urls":["http://x"]}]})", "foreign layer"},
  };
  for (const auto& [json, want] : cases) {
    BOOST_TEST_CONTEXT(json) {
      auto m = parse_manifest(json, "", "amd64");
      BOOST_TEST_REQUIRE(!m.has_value());
      BOOST_TEST((m.failure().kind == ErrorKind::image_invalid));
      BOOST_TEST(m.failure().message.find(want) != std::string::npos, m.failure().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(registry_error_codes_and_architectures) {
  BOOST_TEST(registry_error_code(R"({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]})") ==
             "NAME_UNKNOWN");
  BOOST_TEST(registry_error_code("404 page not found").empty());
  BOOST_TEST(registry_error_code(R"({"errors":[]})").empty());
  BOOST_TEST(oci_architecture("x86_64") == "amd64");
  BOOST_TEST(oci_architecture("aarch64") == "arm64");
  BOOST_TEST(manifest_accept_header().find(media::docker_manifest) != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registry_config)

BOOST_AUTO_TEST_CASE(shared_cache_and_insecure_registries) {
  auto c = parse_config("registry-shared-cache = /srv/cache\ninsecure-registry = reg.local:5000\ninsecure-registry = other\n", "f");
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c.value().registry_shared_cache == "/srv/cache");
  BOOST_TEST(c.value().insecure_registries == (std::vector<std::string>{"reg.local:5000", "other"}));
  auto rel = parse_config("registry-shared-cache = cache\n", "f");
  BOOST_TEST_REQUIRE(!rel.has_value());
  BOOST_TEST(rel.failure().message.find("absolute path") != std::string::npos);
  BOOST_TEST(!parse_config("insecure-registry = http://x/\n", "f").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec::registry
