/* The payload of the GPU tests: loads the driver the way CUDA's runtime does (dlopen of
 * libcuda.so.1 through the loader's search path), asks it for its version and devices, and prints
 * where the library came from. Needs no CUDA toolkit. Exit status: 0, or 1 when libcuda cannot be
 * loaded or answers with an error.
 *   gpu_probe -> "libcuda=PATH version=12040 devices=2 names=Fake GPU 0;Fake GPU 1; visible=unset" */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*init_fn)(unsigned int);
typedef int (*int_fn)(int*);
typedef int (*get_fn)(int*, int);
typedef int (*name_fn)(char*, int, int);

int main(void) {
  void* h = dlopen("libcuda.so.1", RTLD_NOW);
  if (h == NULL) {
    printf("dlopen libcuda.so.1 failed: %s\n", dlerror());
    return 1;
  }
  struct link_map* map = NULL;
  dlinfo(h, RTLD_DI_LINKMAP, &map);
  init_fn cu_init = (init_fn)dlsym(h, "cuInit");
  int_fn cu_version = (int_fn)dlsym(h, "cuDriverGetVersion");
  int_fn cu_count = (int_fn)dlsym(h, "cuDeviceGetCount");
  get_fn cu_get = (get_fn)dlsym(h, "cuDeviceGet");
  name_fn cu_name = (name_fn)dlsym(h, "cuDeviceGetName");
  if (!cu_init || !cu_version || !cu_count || !cu_get || !cu_name) {
    printf("libcuda lacks the driver API\n");
    return 1;
  }
  int version = 0;
  int count = 0;
  int rc = cu_init(0);
  if (rc != 0 || cu_version(&version) != 0 || cu_count(&count) != 0) {
    printf("libcuda=%s cuInit/cuDriverGetVersion/cuDeviceGetCount failed (cuInit %d)\n", map ? map->l_name : "?", rc);
    return 1;
  }
  printf("libcuda=%s version=%d devices=%d names=", map ? map->l_name : "?", version, count);
  for (int i = 0; i < count; ++i) {
    int dev = 0;
    char name[256] = "";
    if (cu_get(&dev, i) == 0 && cu_name(name, sizeof name, dev) == 0) {
      printf("%s;", name);
    }
  }
  const char* visible = getenv("CUDA_VISIBLE_DEVICES");
  printf(" visible=%s\n", visible ? visible : "unset");
  return 0;
}
