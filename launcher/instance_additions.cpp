#include "instance_additions.hpp"

namespace cexec {

// Each module appends what it adds; the order here is the order of LD_LIBRARY_PATH precedence
// decisions and of the notices.
InstanceAdditions plan_instance_additions(const LaunchPlan& plan, int image_root, Log& log) {
  (void)plan;
  (void)image_root;
  (void)log;
  InstanceAdditions additions;
  return additions;
}

}  // namespace cexec
