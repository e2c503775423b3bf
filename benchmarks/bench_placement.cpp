// Placement costs: topology load (host with and without I/O discovery, a stored XML), the text form
// a rank parses, and planning a rank with the topology already loaded (what each rank pays).
// Usage: bench_placement [XML] [REPS]
#include "loader.hpp"
#include "machine.hpp"
#include "placement.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace cexec::topology;

namespace {

template <typename F>
double median_us(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string xml = argc > 1 ? argv[1] : "/work/shared/topologies/dgx-a100.xml";
  int reps = argc > 2 ? std::atoi(argv[2]) : 20;
  std::printf("host load, with I/O:     %9.1f us\n", median_us(reps, [] { (void)load_machine({"", true}); }));
  std::printf("host load, without I/O:  %9.1f us\n", median_us(reps, [] { (void)load_machine({"", false}); }));
  std::printf("XML load (%s), with I/O: %9.1f us\n", xml.c_str(), median_us(reps, [&] { (void)load_machine({xml, true}); }));
  Machine m = load_machine({xml, true}).value();
  std::string text = serialize(m);
  std::printf("text form: %zu bytes; parse: %9.1f us\n", text.size(),
              median_us(reps * 50, [&] { (void)parse_machine(text, "x"); }));
  for (int ranks : {8, 64}) {
    RankRequest in;
    in.local_size = ranks;
    in.local_rank = ranks - 1;
    in.machine_is_host = false;
    in.affinity = {0, 1};
    in.environ = {"CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7"};
    double plan_us = median_us(reps * 50, [&] { (void)plan_rank(m, in); });
    double total_us = median_us(reps * 50, [&] {
      auto mm = parse_machine(text, "x");
      (void)plan_rank(mm.value(), in);
    });
    std::printf("rank %d of %d: plan %9.1f us; parse + plan %9.1f us\n", ranks - 1, ranks, plan_us, total_us);
  }
  return 0;
}
