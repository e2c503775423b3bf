// GPU support without a GPU: the real discovery and injection code run against fake driver trees
// (tests/gpu/make_gpu_fixtures.sh) that a test build's CEXEC_TEST_GPU_ROOT points at. Runs as root
// and as nobody. The checks on a real GPU are tests/gpu/run_gpu_checks.sh (label `gpu`).
#define BOOST_TEST_MODULE cexec gpu e2e
#include "harness.hpp"

#include <map>
#include <sstream>

using namespace e2e;

namespace {

std::string gpu_root(const std::string& name) { return stage() + "/gpu/" + name; }
std::string gpu_image() { return image("gpu.sqfs"); }
std::string gpu_new_image() { return image("gpu-new"); }
const std::string driver = "550.54.14";

struct GpuCase : Case {
  GpuCase() { env["CEXEC_TEST_GPU_ROOT"] = gpu_root("nvidia-host"); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(gpu)

BOOST_FIXTURE_TEST_CASE(the_build_under_test_has_the_test_hooks, GpuCase) {
  auto o = run_cexec({"--version"}, env);
  BOOST_CHECK_MESSAGE(contains(o.out, "(test hooks: on)"), o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(driver_files_are_injected_at_their_places, GpuCase) {
  std::string lib = "/.cexec/host/gpu/lib/";
  const std::vector<std::string> injected{
      lib + "libcuda.so.1", lib + "libcuda.so", lib + "libnvidia-ml.so.1", lib + "libnvidia-ml.so",
      lib + "libnvidia-ptxjitcompiler.so.1", lib + "libnvidia-nvvm.so.1", lib + "libnvidia-sitelocal.so.1",
      "/.cexec/host/gpu/bin/nvidia-smi", "/.cexec/host/gpu/bin/nvidia-debugdump", "/etc/vulkan/icd.d/nvidia_icd.json",
      "/usr/share/glvnd/egl_vendor.d/10_nvidia.json", "/etc/OpenCL/vendors/nvidia.icd",
      "/run/nvidia-persistenced/socket"};
  std::string script;
  for (const std::string& f : injected) {
    script += "test -e " + f + " && echo present:" + f + "; ";
  }
  script += "echo manifest:; cat /.cexec/host/gpu/manifest; cat /etc/OpenCL/vendors/nvidia.icd; "
            "touch /.cexec/host/gpu/lib/libcuda.so.1 2>/dev/null || echo read-only";
  auto o = run_cexec({"exec", gpu_image(), "sh", "-c", script}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  for (const std::string& f : injected) {
    BOOST_CHECK_MESSAGE(contains(o.out, "present:" + f + "\n"), f << ": " << o);
  }
  // The bound file is the driver's real release, not the soname link.
  BOOST_CHECK_MESSAGE(contains(o.out, "nvidia library /.cexec/host/gpu/lib/libcuda.so.1 " + gpu_root("nvidia-host") +
                                          "/usr/lib64/nvidia/libcuda.so." + driver),
                      o);
  BOOST_CHECK(contains(o.out, "libnvidia-opencl.so.1"));
  BOOST_CHECK_MESSAGE(contains(o.out, "read-only"), o);
  // Device nodes: the container's /dev is the host's; the fake ones are discovered, not bound.
  BOOST_CHECK_MESSAGE(contains(o.out, "nvidia device /dev/nvidia0 " + gpu_root("nvidia-host") + "/dev/nvidia0 (char 195:0) not under the host's /dev"),
                      o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(the_environment_points_at_the_injected_directories, GpuCase) {
  env["LD_LIBRARY_PATH"] = "/host/only";  // the host's value never reaches the container
  env["CEXEC_ENV_LD_LIBRARY_PATH"] = "/opt/mine:$LD_LIBRARY_PATH";  // layer 5 sees the injected value
  auto o = run_cexec({"exec", gpu_image(), "env"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_MESSAGE(contains("\n" + o.out, "\nLD_LIBRARY_PATH=/opt/mine:/.cexec/host/gpu/lib\n"), o);
  BOOST_CHECK_MESSAGE(contains("\n" + o.out, "\nPATH=/.cexec/host/gpu/bin:"), o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(a_program_in_the_image_loads_the_injected_libcuda, GpuCase) {
  auto o = run_cexec({"exec", gpu_image(), "gpu_probe"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_MESSAGE(contains(o.out, "libcuda=/.cexec/host/gpu/lib/libcuda.so.1 version=12040 devices=2 names=Fake GPU 0;Fake GPU 1;"), o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(the_mps_directory_follows_tmp, GpuCase) {
  // The fake host has /tmp/nvidia-mps: under the bound host /tmp it is not bound again, and with
  // --contain's private /tmp it is left out with a notice; the launch works either way.
  auto o = run_cexec({"exec", gpu_image(), "cat", "/.cexec/host/gpu/manifest"}, env);
  BOOST_CHECK_MESSAGE(o.status == 0 && contains(o.out, "nvidia socket /tmp/nvidia-mps (under an existing bind: not bound)"), o);
  o = run_cexec({"exec", "-v", "--contain", gpu_image(), "gpu_probe"}, env);
  BOOST_CHECK_MESSAGE(o.status == 0 && contains(o.out, "version=12040"), o);
  BOOST_CHECK_MESSAGE(contains(o.err, "info: gpu: /tmp/nvidia-mps not shared: it lies in a private tmpfs (--contain)"), o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(nvidia_smi_runs_from_path, GpuCase) {
  auto o = run_cexec({"exec", gpu_image(), "nvidia-smi", "-L"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_MESSAGE(contains(o.out, "GPU 0: Fake GPU 0 (UUID: GPU-00000000-fake-0000-0000-000000000000)\nGPU 1: Fake GPU 1"), o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(aliases_and_none, GpuCase) {
  for (const std::vector<std::string>& opt : {std::vector<std::string>{"--nv"}, {"--gpu=nvidia"}, {"--gpu", "auto"}}) {
    std::vector<std::string> args{"exec"};
    args.insert(args.end(), opt.begin(), opt.end());
    args.insert(args.end(), {gpu_image(), "gpu_probe"});
    auto o = run_cexec(args, env);
    BOOST_CHECK_MESSAGE(o.status == 0 && contains(o.out, "version=12040"), opt[0] << ": " << o);
  }
  auto o = run_cexec({"exec", "--gpu=none", gpu_image(), "sh", "-c", "test -e /.cexec/host/gpu || echo no-gpu; env"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_MESSAGE(contains(o.out, "no-gpu") && !contains(o.out, "LD_LIBRARY_PATH"), o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(a_gpu_less_host_runs_as_before, GpuCase) {
  env["CEXEC_TEST_GPU_ROOT"] = gpu_root("no-gpu-host");
  auto o = run_cexec({"exec", gpu_image(), "sh", "-c", "test -e /.cexec/host/gpu || echo no-gpu; env"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_MESSAGE(contains(o.out, "no-gpu") && !contains(o.out, "LD_LIBRARY_PATH"), o);
  o = run_cexec({"exec", gpu_image(), "gpu_probe"}, env);
  BOOST_CHECK_EQUAL(o.status, 1);
  BOOST_CHECK_MESSAGE(contains(o.out, "dlopen libcuda.so.1 failed"), o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(an_explicit_vendor_on_a_gpu_less_host_fails_clearly, GpuCase) {
  env["CEXEC_TEST_GPU_ROOT"] = gpu_root("no-gpu-host");
  for (const std::string& mode : std::vector<std::string>{"--gpu=nvidia", "--nv"}) {
    auto o = run_cexec({"exec", mode, gpu_image(), "true"}, env);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::host_unsupported));
    BOOST_CHECK_MESSAGE(o.err == "cexec: --gpu=nvidia: this host has no NVIDIA driver (no /proc/driver/nvidia/version, "
                                 "/sys/module/nvidia or /dev/nvidiactl)\n",
                        mode << ": " << o);
  }
  auto o = run_cexec({"exec", "--rocm", gpu_image(), "true"}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::host_unsupported));
  BOOST_CHECK_MESSAGE(o.err == "cexec: --gpu=rocm: this host has no AMD GPU driver (no /dev/kfd)\n", o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(a_bad_gpu_mode_is_a_usage_error, GpuCase) {
  auto o = run_cexec({"exec", "--gpu=intel", gpu_image(), "true"}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK_MESSAGE(o.err == "cexec: --gpu `intel`: expected auto, nvidia, rocm or none\n", o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(a_malformed_admin_list_is_a_config_error, GpuCase) {
  env["CEXEC_TEST_GPU_ROOT"] = gpu_root("badconf-host");
  auto o = run_cexec({"exec", gpu_image(), "true"}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::config));
  BOOST_CHECK_MESSAGE(contains(o.err, "gpu-nvidia.conf:2: `libfoo.so.1`: a library is a base name") &&
                          std::count(o.err.begin(), o.err.end(), '\n') == 1,
                      o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(an_admin_list_not_owned_by_root_is_refused, GpuCase) {
  env["CEXEC_TEST_GPU_ROOT"] = gpu_root("unsafe-host");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"exec", gpu_image(), "true"}, {"check", "--gpu"}}) {
    auto o = run_cexec(args, env);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::config));
    BOOST_CHECK_MESSAGE(o.err == "cexec: config file `" + gpu_root("unsafe-host") + "/etc/cexec/gpu-nvidia.conf` is not owned by root\n", o);
  }
  teardown();
}

BOOST_FIXTURE_TEST_CASE(an_image_cuda_newer_than_the_driver_warns, GpuCase) {
  auto o = run_cexec({"exec", gpu_new_image(), "true"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_MESSAGE(contains(o.err, "cexec: warning: gpu: the image's CUDA runtime 12.6 is newer than the host driver supports (CUDA 12.4)"),
                      o);
  o = run_cexec({"exec", gpu_image(), "true"}, env);
  BOOST_CHECK_MESSAGE(o.status == 0 && o.err.empty(), o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(check_lists_what_was_found_with_versions, GpuCase) {
  auto o = run_cexec({"check", "--gpu"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  std::string root = gpu_root("nvidia-host");
  for (const std::string& line : std::vector<std::string>{"nvidia: driver " + driver + " (found /proc/driver/nvidia/version), supports CUDA 12.4 (cuDriverGetVersion)\n",
        "  library libcuda.so.1 " + driver + " " + root + "/usr/lib64/nvidia/libcuda.so." + driver + " -> /.cexec/host/gpu/lib/libcuda.so.1\n",
        "  library libnvidia-sitelocal.so.1 " + driver,
        "  binary  nvidia-smi " + root + "/usr/bin/nvidia-smi -> /.cexec/host/gpu/bin/nvidia-smi\n",
        "  icd     /etc/vulkan/icd.d/nvidia_icd.json ",
        "  socket  /run/nvidia-persistenced ",
        "  device  /dev/nvidia0 char 195:0 ", "  device  /dev/nvidia1 char 195:1 ", "  device  /dev/nvidiactl char 195:255 ",
        "  device  /dev/nvidia-uvm char 511:0 ", "  device  /dev/nvidia-caps/nvidia-cap1 char 235:1 ",
        std::string("not on this host (ld.so.cache): libcudadebugger"), std::string("amd: no driver found\n"),
        std::string("environment: prepend LD_LIBRARY_PATH=/.cexec/host/gpu/lib\n"),
        std::string("environment: prepend PATH=/.cexec/host/gpu/bin\n")}) {
    BOOST_CHECK_MESSAGE(contains(o.out, line), line << ": " << o);
  }
  teardown();
}

BOOST_FIXTURE_TEST_CASE(check_with_an_image_gives_the_verdict, GpuCase) {
  auto o = run_cexec({"check", "--gpu", gpu_image()}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_MESSAGE(contains(o.out, "image: CUDA runtime 12.2.2 (/usr/local/cuda/version.json)\n") &&
                          contains(o.out, "compatible: the image's CUDA 12.2 runs on a driver supporting CUDA 12.4\n"),
                      o);
  o = run_cexec({"check", "--gpu", gpu_new_image()}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_MESSAGE(contains(o.out, "warning: gpu: the image's CUDA runtime 12.6 is newer than the host driver supports (CUDA 12.4)"), o);
  o = run_cexec({"check", "--gpu", image("missing.sqfs")}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::input_missing));
  // Without --gpu, `cexec check` is the host check (tests/e2e/host_check_tests.cpp), which takes no image.
  o = run_cexec({"check", gpu_image()}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK_MESSAGE(o.err == "cexec: check: IMAGE `" + gpu_image() + "` is only taken with --gpu: cexec check --gpu [IMAGE] (see cexec --help)\n", o);
  o = run_cexec({"check", "--gpu", "--json"}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK_MESSAGE(o.err == "cexec: check: --json is for the host check, not --gpu (see cexec --help)\n", o);
  teardown();
}

BOOST_FIXTURE_TEST_CASE(amd_devices_and_libraries_are_found, GpuCase) {
  env["CEXEC_TEST_GPU_ROOT"] = gpu_root("amd-host");
  auto o = run_cexec({"check", "--gpu"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  std::string root = gpu_root("amd-host");
  for (const std::string& line : std::vector<std::string>{std::string("nvidia: no driver found\n"), std::string("amd: driver (version unknown) (found /dev/kfd)"),
                                  "  library libhsakmt.so.1 1.0.6 " + root + "/opt/rocm/lib/libhsakmt.so.1.0.6 -> /.cexec/host/gpu/lib/libhsakmt.so.1\n",
                                  std::string("  device  /dev/kfd char 236:0 "), std::string("  device  /dev/dri/renderD128 char 226:128 "),
                                  std::string("not on this host (library directories): libhsa-runtime64")}) {
    BOOST_CHECK_MESSAGE(contains(o.out, line), line << ": " << o);
  }
  o = run_cexec({"exec", "--rocm", gpu_image(), "sh", "-c", "test -e /.cexec/host/gpu/lib/libhsakmt.so.1 && rocm-smi"}, env);
  BOOST_CHECK_MESSAGE(o.status == 0 && contains(o.out, "fake rocm-smi"), o);
  teardown();
}

BOOST_AUTO_TEST_SUITE_END()

// Ranks launched by mpirun each load the injected driver and get the GPU the topology plan gives
// them (`cexec plan`), within the allocation an inherited CUDA_VISIBLE_DEVICES (as SLURM's
// --gres=gpu sets it) allows. Compiled once topology/ (cexec plan, --topology) is in the tree.
#ifdef CEXEC_HAVE_TOPOLOGY
BOOST_AUTO_TEST_SUITE(gpu_ranks)

namespace {

// CUDA_VISIBLE_DEVICES of each rank in `cexec plan` output ("rank N:" then "  env: ... NAME=VALUE ...").
std::map<int, std::string> planned_visible(const std::string& text) {
  std::map<int, std::string> out;
  std::istringstream in(text);
  std::string line;
  int rank = -1;
  while (std::getline(in, line)) {
    if (line.starts_with("rank ") && line.back() == ':') {
      rank = std::stoi(line.substr(5));
    } else if (rank >= 0 && line.starts_with("  env: ")) {
      std::istringstream words(line.substr(7));
      std::string w;
      while (words >> w) {
        if (w.starts_with("CUDA_VISIBLE_DEVICES=") || w.starts_with("CUDA_VISIBLE_DEVICES?=")) {
          out[rank] = w.substr(w.find('=') + 1);
        }
      }
    }
  }
  return out;
}

// gpu_probe lines under mpirun --tag-output: "[JOB,RANK]<stdout>:libcuda=... visible=X".
std::map<int, std::string> probed(const std::string& text) {
  std::map<int, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto comma = line.find(',');
    auto close = line.find("]<stdout>:");
    auto visible = line.find(" visible=");
    if (line.starts_with("[") && comma != std::string::npos && close != std::string::npos && visible != std::string::npos &&
        line.find("libcuda=/.cexec/host/gpu/lib/libcuda.so.1 version=12040") != std::string::npos) {
      out[std::stoi(line.substr(comma + 1, close - comma - 1))] = line.substr(visible + 9);
    }
  }
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(mpirun_ranks_get_their_planned_gpu, GpuCase) {
  std::string xml = stage() + "/topology/dgx-a100.xml";
  for (const std::string& allocation : {std::string("0,1,2,3,4,5,6,7"), std::string("2,3")}) {
    BOOST_TEST_CONTEXT("CUDA_VISIBLE_DEVICES=" << allocation) {
      Env e = env;
      e["CUDA_VISIBLE_DEVICES"] = allocation;
      auto plan = run({cexec_bin(), "plan", "--topology", xml, "--ranks", "2"}, e);
      BOOST_TEST_REQUIRE(plan.status == 0, plan);
      auto want = planned_visible(plan.out);
      BOOST_TEST_REQUIRE(want.size() == 2u, plan);
      std::vector<std::string> argv{"mpirun", "-np", "2", "--oversubscribe", "--tag-output", "-x", "CUDA_VISIBLE_DEVICES",
                                    "-x", "CEXEC_TEST_GPU_ROOT"};
      if (is_root()) {
        argv.push_back("--allow-run-as-root");
      }
      argv.insert(argv.end(), {cexec_bin(), "--topology", xml, gpu_image(), "gpu_probe"});
      auto o = run(argv, e);
      BOOST_TEST_REQUIRE(o.status == 0, o);
      auto seen = probed(o.out);
      BOOST_TEST_REQUIRE(seen.size() == 2u, o);
      BOOST_TEST(seen[0] == want[0]);
      BOOST_TEST(seen[1] == want[1]);
      BOOST_TEST(seen[0] != seen[1]);  // one GPU per rank
      if (allocation == "2,3") {
        // Within SLURM's allocation, named as the allocation names them.
        for (int r : {0, 1}) {
          BOOST_TEST((seen[r] == "2" || seen[r] == "3"), "rank " << r << " got " << seen[r]);
        }
      }
    }
  }
  teardown();
}

BOOST_AUTO_TEST_SUITE_END()
#endif
