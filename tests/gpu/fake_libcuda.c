/* A stand-in for the NVIDIA driver's libcuda (soname libcuda.so.1), built by the test suite for
 * hosts without a GPU: the driver API entry points a probe needs, answering from fixed values
 * (FAKE_CUDA_VERSION, two devices). GPU discovery asks it cuDriverGetVersion as it asks the real one. */
#include <stdio.h>

#ifndef FAKE_CUDA_VERSION
#define FAKE_CUDA_VERSION 12040
#endif

typedef int CUresult;
typedef int CUdevice;

static int initialized;

CUresult cuInit(unsigned int flags) {
  (void)flags;
  initialized = 1;
  return 0;
}

CUresult cuDriverGetVersion(int* version) {
  *version = FAKE_CUDA_VERSION;
  return 0;
}

CUresult cuDeviceGetCount(int* count) {
  if (!initialized) {
    return 3; /* CUDA_ERROR_NOT_INITIALIZED */
  }
  *count = 2;
  return 0;
}

CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  if (ordinal < 0 || ordinal > 1) {
    return 101; /* CUDA_ERROR_INVALID_DEVICE */
  }
  *device = ordinal;
  return 0;
}

CUresult cuDeviceGetName(char* name, int len, CUdevice device) {
  snprintf(name, (size_t)len, "Fake GPU %d", device);
  return 0;
}
