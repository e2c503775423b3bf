// A SIF file's global header and descriptor table (sif/sif.hpp), and the Apptainer metadata cexec
// reads from the image (env scripts, labels.json). The input is the whole file: every descriptor
// accepted must lie inside it, and what assignments_from_script keeps must parse as an env file.
#include "apptainer.hpp"
#include "fuzz_input.hpp"
#include "sif.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = cexec::fuzz::as_text(data, size);
  auto header = cexec::sif::parse_header(file.substr(0, cexec::sif::header_size), size, "fuzz.sif");
  if (header) {
    const auto& h = header.value();
    cexec::fuzz::require(h.descriptors_offset + h.descriptors_total * cexec::sif::descriptor_size <= size,
                         "an accepted header's descriptor table lies inside the file");
    auto descriptors = cexec::sif::parse_descriptors(file.substr(h.descriptors_offset), h, size, "fuzz.sif");
    if (descriptors) {
      for (const auto& d : descriptors.value()) {
        cexec::fuzz::require(d.offset <= size && d.size <= size - d.offset, "an accepted object lies inside the file");
      }
      (void)cexec::sif::primary_partition(descriptors.value(), "amd64", "fuzz.sif");
    }
  }
  auto assignments = cexec::sif::assignments_from_script(file);
  cexec::fuzz::require(cexec::parse_env_text(assignments, "fuzz.sh").has_value(),
                       "the assignments kept from an env script parse as an env file");
  (void)cexec::sif::labels_from_json(file, "fuzz.json");
  return 0;
}
