// docker save / OCI image-layout JSON from archives: the manifest, the index, the OCI manifest and
// the image config, each fed the same bytes.
#include "builder/image_config.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto json = cexec::fuzz::as_text(data, size);
  (void)cexec::build::parse_docker_manifest(json);
  (void)cexec::build::parse_oci_index(json, "amd64");
  (void)cexec::build::parse_oci_manifest(json);
  (void)cexec::build::metadata_from_image_config(json);
  return 0;
}
