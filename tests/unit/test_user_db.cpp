// Unit tests for user_db.hpp: the generated /etc/passwd and /etc/group and the id map lines.
#include "user_db.hpp"
#include "base/user_namespace.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace cexec {
namespace {

const UserEntry alice{"alice", 1000, 100, "Alice A", "/home/alice", "/bin/bash"};
const std::string alice_line = "alice:x:1000:100:Alice A:/home/alice:/bin/bash\n";

BOOST_AUTO_TEST_SUITE(user_db)

BOOST_AUTO_TEST_CASE(passwd_replacement_rules) {
  struct Case {
    const char* name;
    std::string image;
    std::string expected;
  };
  const Case cases[] = {
      {"empty image", "", alice_line},
      {"unrelated lines kept in order",
       "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1::/bin:/sbin/nologin\n",
       "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1::/bin:/sbin/nologin\n" + alice_line},
      {"same name replaced", "root:x:0:0::/root:/bin/sh\nalice:x:500:500::/old:/bin/sh\n",
       "root:x:0:0::/root:/bin/sh\n" + alice_line},
      {"same uid replaced", "ubuntu:x:1000:1000::/home/ubuntu:/bin/sh\nroot:x:0:0::/root:/bin/sh\n",
       "root:x:0:0::/root:/bin/sh\n" + alice_line},
      {"both kinds replaced", "alice:x:1:1::/a:/bin/sh\nother:x:1000:1::/o:/bin/sh\nkeep:x:2:2::/k:/bin/sh\n",
       "keep:x:2:2::/k:/bin/sh\n" + alice_line},
      {"name prefix is not a match", "alice2:x:1001:1001::/h:/bin/sh\nalic:x:1002:1::/h:/bin/sh\n",
       "alice2:x:1001:1001::/h:/bin/sh\nalic:x:1002:1::/h:/bin/sh\n" + alice_line},
      {"uid prefix is not a match", "u:x:10000:1::/h:/bin/sh\nv:x:100:1::/h:/bin/sh\n",
       "u:x:10000:1::/h:/bin/sh\nv:x:100:1::/h:/bin/sh\n" + alice_line},
      {"gid equal to uid is not a match", "svc:x:7:1000::/h:/bin/sh\n", "svc:x:7:1000::/h:/bin/sh\n" + alice_line},
      {"blank lines dropped, missing final newline handled",
       "root:x:0:0::/root:/bin/sh\n\n\nnobody:x:65534:65534::/:/x",
       "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/x\n" + alice_line},
      {"short lines kept", "broken\nroot:x\n", "broken\nroot:x\n" + alice_line},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(make_passwd(c.image, alice) == c.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(passwd_entry_has_seven_fields_even_when_empty) {
  UserEntry u{"u", 4242, 4243, "", "", ""};
  BOOST_TEST(make_passwd("", u) == "u:x:4242:4243:::\n");
}

BOOST_AUTO_TEST_CASE(group_replacement_rules) {
  const std::vector<GroupEntry> groups = {{"users", 100}, {"hpc", 5000}};
  const std::string ours = "users:x:100:alice\nhpc:x:5000:alice\n";
  struct Case {
    const char* name;
    std::string image;
    std::string expected;
  };
  const Case cases[] = {
      {"empty image", "", ours},
      {"unrelated kept", "root:x:0:\nwheel:x:10:root\n", "root:x:0:\nwheel:x:10:root\n" + ours},
      {"same name replaced", "root:x:0:\nusers:x:999:bob,carol\n", "root:x:0:\n" + ours},
      {"same gid replaced", "staff:x:5000:bob\nroot:x:0:\n", "root:x:0:\n" + ours},
      {"prefixes are not matches", "user:x:10:\nhpc2:x:50000:\n", "user:x:10:\nhpc2:x:50000:\n" + ours},
      {"blank lines dropped", "\nroot:x:0:\n\n", "root:x:0:\n" + ours},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(make_group(c.image, groups, "alice") == c.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(group_with_no_groups_keeps_the_image_file) {
  BOOST_TEST(make_group("root:x:0:\nwheel:x:10:\n", {}, "alice") == "root:x:0:\nwheel:x:10:\n");
}

BOOST_AUTO_TEST_CASE(id_map_lines) {
  BOOST_TEST(id_map_line(0, 1000) == "0 1000 1\n");
  BOOST_TEST(id_map_line(1000, 1000) == "1000 1000 1\n");
  BOOST_TEST(id_map_line(0, 100000, 65536) == "0 100000 65536\n");
  BOOST_TEST(id_map_line(4294967294u, 0) == "4294967294 0 1\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
