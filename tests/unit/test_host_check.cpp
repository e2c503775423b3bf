// `cexec check`'s verdicts (pure): made-up facts in, the line and the admin's fix out.
#include "base/exit_codes.hpp"
#include "host_check.hpp"

#include <boost/test/unit_test.hpp>

using namespace cexec;

namespace {

HostCheckFacts ready_host() {
  HostCheckFacts f;
  f.kernel = "Linux 6.1.0 x86_64";
  f.uid = 1000;
  f.max_user_namespaces = 15000;
  f.userns_probe = "";
  f.overlay_probe = "";
  f.fuse_probe = "";
  f.dev_fuse_exists = true;
  f.dev_fuse_is_fuse = true;
  f.dev_fuse_mode = 0666;
  f.dev_fuse_accessible = true;
  f.config_origin = "/etc/cexec/cexec.conf";
  f.mpi = "Open MPI v4.1.4 (discovered from /usr/bin/ompi_info), 38 libraries, 150 plugins";
  f.slurm = "slurm 22.05.8 (/usr/bin/srun)";
  f.spank = "/etc/slurm/plugstack.conf";
  f.topology = "host: 2 packages, 8 NUMA nodes, 128 cores, 256 PUs, 8 GPUs, 4 NICs";
  return f;
}

const CheckLine& item(const std::vector<CheckLine>& lines, const std::string& name) {
  for (const auto& l : lines) {
    if (l.item == name) {
      return l;
    }
  }
  BOOST_FAIL("no line for " << name);
  return lines.front();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(host_check)

BOOST_AUTO_TEST_CASE(a_ready_host_passes_every_item) {
  auto lines = judge_host(ready_host());
  BOOST_CHECK_EQUAL(check_exit_code(lines), 0);
  for (const auto& l : lines) {
    BOOST_TEST_INFO(l.item << ": " << l.finding);
    BOOST_CHECK(l.level == CheckLevel::ok || l.level == CheckLevel::info);
    BOOST_CHECK(l.advice.empty());
  }
  std::string text = render_check_text(lines);
  BOOST_CHECK(text.ends_with("result: ready\n"));
  BOOST_CHECK(text.find("ok    /dev/fuse: character device 10:229, mode 0666\n") != std::string::npos);
  BOOST_CHECK(text.find("ok    SLURM: slurm 22.05.8 (/usr/bin/srun)\n") != std::string::npos);
  BOOST_CHECK(render_check_json(lines).find("\"ready\": true") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(user_namespace_advice_names_the_sysctl_that_blocks) {
  auto f = ready_host();
  f.userns_probe = "unshare: Operation not permitted";
  f.overlay_probe.reset();
  f.fuse_probe.reset();
  f.unprivileged_userns_clone = 0;
  auto lines = judge_host(f);
  BOOST_CHECK(item(lines, "user namespaces").level == CheckLevel::fail);
  BOOST_CHECK_EQUAL(item(lines, "user namespaces").advice, "set the sysctl kernel.unprivileged_userns_clone=1");
  BOOST_CHECK(item(lines, "FUSE in a user namespace").level == CheckLevel::warn);
  BOOST_CHECK_EQUAL(check_exit_code(lines), exit_code_for(ErrorKind::host_unsupported));
  f.unprivileged_userns_clone.reset();
  f.apparmor_restrict_userns = 1;
  BOOST_CHECK(item(judge_host(f), "user namespaces").advice.starts_with("set the sysctl kernel.apparmor_restrict_unprivileged_userns=0"));
  f.apparmor_restrict_userns.reset();
  f.max_user_namespaces = 0;
  BOOST_CHECK(item(judge_host(f), "user namespaces").advice.starts_with("set the sysctl user.max_user_namespaces above 0"));
  // Working, but too few for many node instances.
  auto low = ready_host();
  low.max_user_namespaces = 10;
  BOOST_CHECK(item(judge_host(low), "user namespaces").level == CheckLevel::warn);
  BOOST_CHECK_EQUAL(check_exit_code(judge_host(low)), 0);
}

BOOST_AUTO_TEST_CASE(dev_fuse_modes) {
  auto f = ready_host();
  f.dev_fuse_mode = 0600;
  f.dev_fuse_accessible = false;
  auto l = item(judge_host(f), "/dev/fuse");
  BOOST_CHECK(l.level == CheckLevel::fail);
  BOOST_CHECK_EQUAL(l.finding, "character device 10:229, mode 0600, not readable and writable by uid 1000");
  f.dev_fuse_accessible = true;  // the user is in the device's group: works for them, not for all
  f.dev_fuse_mode = 0660;
  BOOST_CHECK(item(judge_host(f), "/dev/fuse").level == CheckLevel::warn);
  f.dev_fuse_is_fuse = false;
  BOOST_CHECK(item(judge_host(f), "/dev/fuse").level == CheckLevel::fail);
  f.dev_fuse_exists = false;
  BOOST_CHECK_EQUAL(item(judge_host(f), "/dev/fuse").finding, "missing");
}

BOOST_AUTO_TEST_CASE(optional_parts_never_fail_the_check) {
  auto f = ready_host();
  f.overlay_probe = "fsconfig overlay: Invalid argument";
  f.mpi.clear();
  f.slurm.clear();
  f.slurm_problem = "/usr/bin/srun is installed, but `srun --version` fails";
  f.spank.clear();
  f.topology.clear();
  f.topology_problem = "hwloc: no topology";
  auto lines = judge_host(f);
  BOOST_CHECK_EQUAL(check_exit_code(lines), 0);
  BOOST_CHECK(item(lines, "overlayfs in a user namespace").level == CheckLevel::warn);
  BOOST_CHECK(item(lines, "host MPI").level == CheckLevel::info);
  BOOST_CHECK_EQUAL(item(lines, "SLURM").finding, f.slurm_problem);
  BOOST_CHECK(item(lines, "topology").level == CheckLevel::warn);
  BOOST_CHECK(render_check_text(lines).ends_with("result: ready (2 to review)\n"));
  f.config_error = "config file `/etc/cexec/cexec.conf`: line 3: unknown key `foo`";
  f.config_origin.clear();
  auto bad = judge_host(f);
  BOOST_CHECK(item(bad, "admin configuration").level == CheckLevel::fail);
  BOOST_CHECK(render_check_text(bad).ends_with("result: not ready (1 to fix, 2 to review)\n"));
  BOOST_CHECK(render_check_json(bad).find("\"ready\": false") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
