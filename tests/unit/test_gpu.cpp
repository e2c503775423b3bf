// The GPU module's pure part: file lists and admin extensions, versions and the compatibility
// rule, and the injection plan built from facts. (The shared ld.so.cache reader: test_ld_cache.cpp.)
#include "gpu_lists.hpp"
#include "gpu_plan.hpp"
#include "gpu_version.hpp"
#include "plan.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace cexec;
using namespace cexec::gpu;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

VendorFacts fake_nvidia() {
  VendorFacts f;
  f.vendor = Vendor::nvidia;
  f.present = true;
  f.presence_evidence = "/proc/driver/nvidia/version";
  f.driver = parse_version("550.54.14");
  f.driver_cuda = parse_version("12.4");
  f.driver_cuda_source = "cuDriverGetVersion";
  f.libraries = {{"libcuda.so.1", "/usr/lib64/libcuda.so.550.54.14", "550.54.14"},
                 {"libnvidia-ml.so.1", "/usr/lib64/libnvidia-ml.so.550.54.14", "550.54.14"},
                 {"libnvidia-ptxjitcompiler.so.1", "/usr/lib64/libnvidia-ptxjitcompiler.so.550.54.14", "550.54.14"}};
  f.binaries = {{"nvidia-smi", "/usr/bin/nvidia-smi", ""}};
  f.icd = {{"/etc/vulkan/icd.d/nvidia_icd.json", "/etc/vulkan/icd.d/nvidia_icd.json", ""}};
  f.devices = {{"/dev/nvidia0", "/dev/nvidia0", "char 195:0"}, {"/dev/nvidiactl", "/dev/nvidiactl", "char 195:255"}};
  f.sockets = {{"/run/nvidia-persistenced", "/run/nvidia-persistenced", ""}};
  f.library_source = "ld.so.cache";
  return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gpu_lists)

BOOST_AUTO_TEST_CASE(builtin_lists_hold_the_driver_pieces) {
  auto n = builtin_file_list(Vendor::nvidia);
  for (const char* lib : {"libcuda", "libnvidia-ml", "libnvidia-ptxjitcompiler", "libnvidia-nvvm", "libnvidia-gpucomp",
                          "libcudadebugger", "libnvidia-opencl", "libnvidia-cfg", "libnvidia-allocator", "libEGL_nvidia",
                          "libGLX_nvidia"}) {
    BOOST_CHECK_MESSAGE(has(n.libraries, lib), lib);
  }
  for (const char* bin : {"nvidia-smi", "nvidia-debugdump", "nvidia-persistenced", "nvidia-cuda-mps-control", "nvidia-cuda-mps-server"}) {
    BOOST_CHECK_MESSAGE(has(n.binaries, bin), bin);
  }
  BOOST_CHECK(has(n.devices, "/dev/nvidiactl"));
  BOOST_CHECK(has(n.devices, "/dev/nvidia-caps/*"));
  auto a = builtin_file_list(Vendor::amd);
  BOOST_CHECK(has(a.devices, "/dev/kfd"));
  BOOST_CHECK(has(a.devices, "/dev/dri/renderD*"));
  BOOST_CHECK(has(a.libraries, "libhsakmt"));
}

BOOST_AUTO_TEST_CASE(admin_config_extends_the_lists) {
  auto r = extend_file_list(builtin_file_list(Vendor::nvidia),
                            "# site additions\n[libraries]\nlibnvidia-future  # a newer driver's library\nlibcuda\n"
                            "[binaries]\nnvidia-imex\n[devices]\n/dev/nvidia-imex*\n[icd]\n/etc/site/icd.json\n",
                            "gpu-nvidia.conf");
  BOOST_REQUIRE(r);
  BOOST_CHECK(has(r.value().libraries, "libnvidia-future"));
  BOOST_CHECK_EQUAL(std::count(r.value().libraries.begin(), r.value().libraries.end(), "libcuda"), 1);
  BOOST_CHECK(has(r.value().binaries, "nvidia-imex"));
  BOOST_CHECK(has(r.value().devices, "/dev/nvidia-imex*"));
  BOOST_CHECK(has(r.value().icd, "/etc/site/icd.json"));
}

BOOST_AUTO_TEST_CASE(bad_admin_config_lines_name_the_line) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"libfoo\n", "c.conf:1: `libfoo` before any [section]"},
      {"[libs]\n", "c.conf:1: unknown section `libs`"},
      {"[libraries]\n\nlibfoo.so.1\n", "c.conf:3: `libfoo.so.1`: a library is a base name"},
      {"[libraries]\n/usr/lib/libfoo\n", "a library is a name, not a path"},
      {"[binaries]\n/usr/bin/x\n", "a binary is a name, not a path"},
      {"[devices]\n/tmp/x\n", "a device must be under /dev/"},
      {"[icd]\nrelative.json\n", "not an absolute path"},
      {"[icd]\n/etc/../x\n", "not an absolute path"},
      {"[devices\n", "unterminated section header"},
  };
  for (const auto& c : cases) {
    auto r = extend_file_list({}, c.text, "c.conf");
    BOOST_REQUIRE_MESSAGE(!r, c.text);
    BOOST_CHECK(r.failure().kind == ErrorKind::config);
    BOOST_CHECK_MESSAGE(r.failure().message.find(c.expect) != std::string::npos, r.failure().message);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gpu_versions)

BOOST_AUTO_TEST_CASE(parses_the_places_versions_are_written) {
  BOOST_CHECK(parse_version("535.104.05")->parts == (std::vector<int>{535, 104, 5}));
  BOOST_CHECK(!parse_version("535.x"));
  BOOST_CHECK(!parse_version(""));
  BOOST_CHECK_EQUAL(cuda_from_driver_api(12020)->text, "12.2");
  BOOST_CHECK_EQUAL(cuda_from_driver_api(11080)->text, "11.8");
  BOOST_CHECK(!cuda_from_driver_api(0));
  BOOST_CHECK_EQUAL(driver_from_proc_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n"
                                             "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n")
                        ->text,
                    "535.104.05");
  BOOST_CHECK_EQUAL(driver_from_proc_version("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build\n")->text,
                    "570.86.15");
  BOOST_CHECK_EQUAL(version_from_library_name("libcuda.so.535.104.05")->text, "535.104.05");
  BOOST_CHECK(!version_from_library_name("libcuda.so.1"));
  BOOST_CHECK(!version_from_library_name("libcuda.so"));
  BOOST_CHECK_EQUAL(cuda_from_version_json("{\n \"cuda\" : {\n  \"name\" : \"CUDA SDK\",\n  \"version\" : \"12.2.2\"\n },\n"
                                           " \"cuda_cudart\" : {\"version\" : \"12.2.140\"}}")
                        ->text,
                    "12.2.2");
  BOOST_CHECK_EQUAL(cuda_from_version_txt("CUDA Version 10.2.89\n")->text, "10.2.89");
  BOOST_CHECK_EQUAL(cuda_from_cudart_name("libcudart.so.12.4.127")->text, "12.4.127");
  BOOST_CHECK(!cuda_from_cudart_name("libcudart.so.12"));
  BOOST_CHECK(!cuda_from_cudart_name("libcublas.so.12.4.5"));
}

BOOST_AUTO_TEST_CASE(driver_table_gives_the_newest_supported_cuda) {
  BOOST_CHECK_EQUAL(cuda_supported_by_driver(*parse_version("535.104.05"))->text, "12.2");
  BOOST_CHECK_EQUAL(cuda_supported_by_driver(*parse_version("550.54.14"))->text, "12.4");
  BOOST_CHECK_EQUAL(cuda_supported_by_driver(*parse_version("470.82.01"))->text, "11.4");
  BOOST_CHECK_EQUAL(cuda_supported_by_driver(*parse_version("999.1"))->text, "13.0");
  BOOST_CHECK(!cuda_supported_by_driver(*parse_version("390.1")));
}

BOOST_AUTO_TEST_CASE(compatibility_compares_major_minor) {
  BOOST_CHECK_EQUAL(cuda_compatibility_problem(*parse_version("12.2.140"), *parse_version("12.2")), "");
  BOOST_CHECK_EQUAL(cuda_compatibility_problem(*parse_version("11.8.0"), *parse_version("12.4")), "");
  auto minor = cuda_compatibility_problem(*parse_version("12.4.1"), *parse_version("12.2"));
  BOOST_CHECK_MESSAGE(minor.find("12.4 is newer than the host driver supports (CUDA 12.2)") != std::string::npos, minor);
  BOOST_CHECK(minor.find("minor-version compatibility") != std::string::npos);
  auto major = cuda_compatibility_problem(*parse_version("12.0"), *parse_version("11.8"));
  BOOST_CHECK(major.find("driver version is insufficient") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gpu_plan)

BOOST_AUTO_TEST_CASE(injects_libraries_binaries_and_icds_read_only) {
  GpuPlanInputs in;
  in.vendors = {fake_nvidia()};
  auto a = plan_gpu_additions(in);
  auto find = [&](const std::string& dst) -> const MountOp* {
    for (const auto& m : a.mounts) {
      if (m.destination == dst) {
        return &m;
      }
    }
    return nullptr;
  };
  const MountOp* cuda = find("/.cexec/host/gpu/lib/libcuda.so.1");
  BOOST_REQUIRE(cuda);
  BOOST_CHECK_EQUAL(cuda->source, "/usr/lib64/libcuda.so.550.54.14");
  BOOST_CHECK(cuda->read_only);
  BOOST_CHECK(find("/.cexec/host/gpu/lib/libcuda.so"));      // the unversioned name programs dlopen
  BOOST_CHECK(find("/.cexec/host/gpu/lib/libnvidia-ml.so.1"));
  BOOST_CHECK(!find("/.cexec/host/gpu/lib/libnvidia-ptxjitcompiler.so"));
  BOOST_CHECK(find("/.cexec/host/gpu/bin/nvidia-smi"));
  BOOST_CHECK(find("/etc/vulkan/icd.d/nvidia_icd.json"));
  const MountOp* sock = find("/run/nvidia-persistenced");
  BOOST_REQUIRE(sock);
  BOOST_CHECK(!sock->read_only);
  // Devices: the container's /dev is the host's, nothing to bind.
  BOOST_CHECK(!find("/dev/nvidia0"));
  BOOST_REQUIRE_EQUAL(a.env.size(), 2u);
  BOOST_CHECK(a.env[0] == (EnvOp{EnvOpKind::prepend_path, "LD_LIBRARY_PATH", "/.cexec/host/gpu/lib"}));
  BOOST_CHECK(a.env[1] == (EnvOp{EnvOpKind::prepend_path, "PATH", "/.cexec/host/gpu/bin"}));
  BOOST_REQUIRE_EQUAL(a.files.size(), 1u);
  BOOST_CHECK(a.files[0].content.find("nvidia device /dev/nvidia0 /dev/nvidia0 (char 195:0) visible through /dev") != std::string::npos);
  BOOST_CHECK(a.notices.at(0).starts_with("info: gpu: nvidia driver 550.54.14 (CUDA 12.4)"));
}

BOOST_AUTO_TEST_CASE(devices_are_bound_without_nodev_when_dev_is_not_the_hosts) {
  GpuPlanInputs in;
  in.vendors = {fake_nvidia()};
  in.container_dev_is_host_dev = false;
  auto a = plan_gpu_additions(in);
  auto it = std::find_if(a.mounts.begin(), a.mounts.end(), [](const MountOp& m) { return m.destination == "/dev/nvidia0"; });
  BOOST_REQUIRE(it != a.mounts.end());
  BOOST_CHECK(!it->restrict);
}

BOOST_AUTO_TEST_CASE(sockets_under_an_existing_bind_are_not_bound_again) {
  GpuPlanInputs in;
  VendorFacts f = fake_nvidia();
  f.sockets = {{"/tmp/nvidia-mps", "/tmp/nvidia-mps", ""}};
  in.vendors = {f};
  in.existing_mounts = {MountOp{MountKind::bind, "/tmp", "/tmp", false, true, true, MountOrigin::system}};
  auto a = plan_gpu_additions(in);
  BOOST_CHECK(std::none_of(a.mounts.begin(), a.mounts.end(), [](const MountOp& m) { return m.destination == "/tmp/nvidia-mps"; }));
}

BOOST_AUTO_TEST_CASE(sockets_in_a_private_tmpfs_are_left_out) {
  GpuPlanInputs in;
  VendorFacts f = fake_nvidia();
  f.sockets = {{"/tmp/nvidia-mps", "/tmp/nvidia-mps", ""}};
  in.vendors = {f};
  in.existing_mounts = {MountOp{MountKind::tmpfs, "tmpfs", "/tmp", false, true, false, MountOrigin::system}};
  auto a = plan_gpu_additions(in);
  BOOST_CHECK(std::none_of(a.mounts.begin(), a.mounts.end(), [](const MountOp& m) { return m.destination == "/tmp/nvidia-mps"; }));
  BOOST_CHECK(std::any_of(a.notices.begin(), a.notices.end(), [](const std::string& n) {
    return n == "info: gpu: /tmp/nvidia-mps not shared: it lies in a private tmpfs (--contain)";
  }));
}

BOOST_AUTO_TEST_CASE(nothing_without_a_driver) {
  GpuPlanInputs in;
  VendorFacts absent;
  in.vendors = {absent};
  auto a = plan_gpu_additions(in);
  BOOST_CHECK(a.empty());
  BOOST_CHECK(describe_gpu_check(in, a).find("nothing to inject: no GPU driver on this host") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(warns_when_the_image_cuda_is_newer_than_the_driver) {
  GpuPlanInputs in;
  in.vendors = {fake_nvidia()};
  in.image_cuda = ImageCuda{*parse_version("12.6.2"), "/usr/local/cuda/version.json"};
  auto a = plan_gpu_additions(in);
  BOOST_CHECK(std::any_of(a.notices.begin(), a.notices.end(), [](const std::string& n) {
    return n.starts_with("warn: gpu: the image's CUDA runtime 12.6 is newer than the host driver supports (CUDA 12.4)");
  }));
  in.image_cuda = ImageCuda{*parse_version("12.2.2"), "/usr/local/cuda/version.json"};
  a = plan_gpu_additions(in);
  BOOST_CHECK(std::none_of(a.notices.begin(), a.notices.end(), [](const std::string& n) { return n.starts_with("warn: "); }));
  std::string report = describe_gpu_check(in, a);
  BOOST_CHECK_MESSAGE(report.find("compatible: the image's CUDA 12.2 runs on a driver supporting CUDA 12.4") != std::string::npos, report);
  BOOST_CHECK(report.find("library libcuda.so.1 550.54.14 /usr/lib64/libcuda.so.550.54.14 -> /.cexec/host/gpu/lib/libcuda.so.1") !=
              std::string::npos);
}

BOOST_AUTO_TEST_CASE(warns_when_the_driver_has_no_libcuda) {
  GpuPlanInputs in;
  VendorFacts f = fake_nvidia();
  f.libraries.erase(f.libraries.begin());
  in.vendors = {f};
  auto a = plan_gpu_additions(in);
  BOOST_CHECK(std::any_of(a.notices.begin(), a.notices.end(),
                          [](const std::string& n) { return n.starts_with("warn: gpu: the host has an NVIDIA driver but no libcuda.so.1"); }));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gpu_modes)

namespace {

HostFacts facts_with(std::vector<std::string> environ) {
  HostFacts f;
  f.environ = std::move(environ);
  f.user = UserEntry{"alice", 1000, 1000, "Alice", "/home/alice", "/bin/bash"};
  f.groups = {{"alice", 1000}};
  f.cwd = "/home/alice";
  f.image_path = "/images/app.sqfs";
  f.image_kind = ImageKind::squashfs;
  return f;
}

Result<LaunchPlan> resolve_gpu(const std::string& mode, std::vector<std::string> environ = {}) {
  LaunchOptions o;
  o.image = "/images/app.sqfs";
  o.command = {"true"};
  o.gpu = mode;
  return resolve(o, facts_with(std::move(environ)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(modes_resolve_and_bad_ones_are_usage_errors) {
  BOOST_CHECK(resolve_gpu("").value().gpu == GpuMode::automatic);
  BOOST_CHECK(resolve_gpu("auto").value().gpu == GpuMode::automatic);
  BOOST_CHECK(resolve_gpu("nvidia").value().gpu == GpuMode::nvidia);
  BOOST_CHECK(resolve_gpu("rocm").value().gpu == GpuMode::rocm);
  BOOST_CHECK(resolve_gpu("none").value().gpu == GpuMode::none);
  auto bad = resolve_gpu("cuda");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK(bad.failure().kind == ErrorKind::usage);
  BOOST_CHECK_EQUAL(bad.failure().message, "--gpu `cuda`: expected auto, nvidia, rocm or none");
}

// The fake driver root is a test-build hook: only a build with CEXEC_TEST_HOOKS reads the variable.
BOOST_AUTO_TEST_CASE(the_host_root_moves_only_in_test_builds) {
  auto p = resolve_gpu("auto", {"CEXEC_TEST_GPU_ROOT=/tmp/fake//root/"});
  BOOST_REQUIRE(p);
#ifdef CEXEC_TEST_HOOKS
  BOOST_CHECK_EQUAL(p.value().gpu_host_root, "/tmp/fake/root");
  auto relative = resolve_gpu("auto", {"CEXEC_TEST_GPU_ROOT=fake"});
  BOOST_REQUIRE(!relative);
  BOOST_CHECK_EQUAL(relative.failure().message, "CEXEC_TEST_GPU_ROOT `fake`: not an absolute path");
#else
  BOOST_CHECK_EQUAL(p.value().gpu_host_root, "/");
  BOOST_CHECK(resolve_gpu("auto", {"CEXEC_TEST_GPU_ROOT=fake"}));
#endif
}

BOOST_AUTO_TEST_SUITE_END()
