#!/bin/sh
# Builds the fake GPU driver trees and the GPU test images into STAGE (run as root by the e2e
# fixture, from make_images.sh). Used with a test build's CEXEC_TEST_GPU_ROOT (docs/gpu.md).
#   make_gpu_fixtures.sh BUILD_DIR STAGE
#   STAGE/gpu/nvidia-host/   an NVIDIA driver as the installer lays it out: libraries in
#                            /usr/lib64/nvidia (found through ld.so.conf.d and an ld.so.cache made
#                            by ldconfig -r), nvidia-smi, ICD files, /proc and /sys version files,
#                            device nodes (mknod as root: char 195:N), the persistenced socket, and
#                            an admin extension /etc/cexec/gpu-nvidia.conf
#   STAGE/gpu/amd-host/      /dev/kfd, /dev/dri/renderD128 and libhsakmt in /opt/rocm/lib
#   STAGE/gpu/no-gpu-host/   an empty host root: no GPU
#   STAGE/gpu/badconf-host/  an NVIDIA device with a malformed gpu-nvidia.conf
#   STAGE/gpu/unsafe-host/   the same with a gpu-nvidia.conf that root does not own
#   STAGE/images/gpu.sqfs    busybox, gpu_probe and its glibc, CUDA 12.2.2 (/usr/local/cuda/version.json)
#   STAGE/images/gpu-new/    the same as a directory, CUDA 12.6.2 (newer than the fake driver's 12.4)
set -eu
build=$1
stage=$2
fake="$build/tests/fakegpu"
driver=550.54.14
gpu="$stage/gpu"
rm -rf "$gpu"
mkdir -p "$gpu"

host="$gpu/nvidia-host"
lib="$host/usr/lib64/nvidia"
mkdir -p "$lib" "$host/usr/bin" "$host/etc/ld.so.conf.d" "$host/etc/cexec" "$host/proc/driver/nvidia" \
  "$host/sys/module/nvidia" "$host/dev/nvidia-caps" "$host/etc/vulkan/icd.d" "$host/usr/share/glvnd/egl_vendor.d" \
  "$host/etc/OpenCL/vendors" "$host/run/nvidia-persistenced" "$host/tmp/nvidia-mps"
for name in cuda nvidia-ml nvidia-ptxjitcompiler nvidia-nvvm nvidia-sitelocal; do
  cp "$fake/lib$name.so.$driver" "$lib/"
  ln -sf "lib$name.so.$driver" "$lib/lib$name.so.1"
done
printf 'include /etc/ld.so.conf.d/*.conf\n' > "$host/etc/ld.so.conf"
printf '/usr/lib64/nvidia\n' > "$host/etc/ld.so.conf.d/nvidia.conf"
ldconfig -r "$host"
cat > "$host/usr/bin/nvidia-smi" <<SMI
#!/bin/sh
# fake nvidia-smi: -L, --query-gpu=driver_version, or the header
case "\${1:-}" in
  -L) echo "GPU 0: Fake GPU 0 (UUID: GPU-00000000-fake-0000-0000-000000000000)"
      echo "GPU 1: Fake GPU 1 (UUID: GPU-00000000-fake-0000-0000-000000000001)" ;;
  --query-gpu=driver_version) echo "$driver"; echo "$driver" ;;
  *) echo "NVIDIA-SMI $driver  Driver Version: $driver  CUDA Version: 12.4" ;;
esac
SMI
printf '#!/bin/sh\necho fake nvidia-debugdump\n' > "$host/usr/bin/nvidia-debugdump"
chmod 0755 "$host/usr/bin/nvidia-smi" "$host/usr/bin/nvidia-debugdump"
printf 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  %s  Thu Feb 22 01:44:30 UTC 2024\nGCC version:  gcc version 12.2.0\n' "$driver" > "$host/proc/driver/nvidia/version"
printf '%s\n' "$driver" > "$host/sys/module/nvidia/version"
printf '{"file_format_version": "1.0.1", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.3.277"}}\n' > "$host/etc/vulkan/icd.d/nvidia_icd.json"
printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "libEGL_nvidia.so.0"}}\n' > "$host/usr/share/glvnd/egl_vendor.d/10_nvidia.json"
printf 'libnvidia-opencl.so.1\n' > "$host/etc/OpenCL/vendors/nvidia.icd"
printf '# site additions (test)\n[libraries]\nlibnvidia-sitelocal\n' > "$host/etc/cexec/gpu-nvidia.conf"
for n in 0 1; do mknod "$host/dev/nvidia$n" c 195 "$n"; done
mknod "$host/dev/nvidiactl" c 195 255
mknod "$host/dev/nvidia-uvm" c 511 0
mknod "$host/dev/nvidia-caps/nvidia-cap1" c 235 1
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$host/run/nvidia-persistenced/socket"

amd="$gpu/amd-host"
mkdir -p "$amd/dev/dri" "$amd/opt/rocm/lib" "$amd/etc/ld.so.conf.d" "$amd/usr/bin"
mknod "$amd/dev/kfd" c 236 0
mknod "$amd/dev/dri/renderD128" c 226 128
cp "$fake/libhsakmt.so.1.0.6" "$amd/opt/rocm/lib/"
ln -sf libhsakmt.so.1.0.6 "$amd/opt/rocm/lib/libhsakmt.so.1"
printf '/opt/rocm/lib\n' > "$amd/etc/ld.so.conf"   # no cache: found by listing the directories
printf '#!/bin/sh\necho fake rocm-smi\n' > "$amd/usr/bin/rocm-smi"
chmod 0755 "$amd/usr/bin/rocm-smi"

mkdir -p "$gpu/no-gpu-host"
bad="$gpu/badconf-host"
mkdir -p "$bad/dev" "$bad/etc/cexec"
mknod "$bad/dev/nvidiactl" c 195 255
printf '[libraries]\nlibfoo.so.1\n' > "$bad/etc/cexec/gpu-nvidia.conf"
unsafe="$gpu/unsafe-host"
mkdir -p "$unsafe/dev" "$unsafe/etc/cexec"
mknod "$unsafe/dev/nvidiactl" c 195 255
printf '[libraries]\nlibnvidia-evil\n' > "$unsafe/etc/cexec/gpu-nvidia.conf"
chown 65534:65534 "$unsafe/etc/cexec/gpu-nvidia.conf"

# The images: busybox, gpu_probe and the glibc it needs (copied from the host), a CUDA version file.
root="$stage/images/gpu-rootfs"
rm -rf "$root" "$stage/images/gpu.sqfs" "$stage/images/gpu-new"
mkdir -p "$root/usr/bin" "$root/usr/lib/x86_64-linux-gnu" "$root/usr/lib64" "$root/etc" "$root/proc" "$root/sys" \
  "$root/dev" "$root/tmp" "$root/var/tmp" "$root/home" "$root/root" "$root/run" "$root/usr/local/cuda"
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
cp /bin/busybox "$root/usr/bin/busybox"
for applet in sh ls cat id echo env true false sleep readlink grep wc test stat; do
  ln -s busybox "$root/usr/bin/$applet"
done
cp "$build/tests/gpu_probe" "$root/usr/bin/gpu_probe"
ldd "$build/tests/gpu_probe" | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}' | while read -r l; do
  cp -L "$l" "$root/usr/lib/x86_64-linux-gnu/$(basename "$l")"
done
ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/usr/lib64/ld-linux-x86-64.so.2"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf '{\n  "cuda" : {\n    "name" : "CUDA SDK",\n    "version" : "12.2.2"\n  }\n}\n' > "$root/usr/local/cuda/version.json"
chmod -R a+rX "$root" "$gpu"
mksquashfs "$root" "$stage/images/gpu.sqfs" -comp zstd -quiet -noappend >/dev/null
chmod 0644 "$stage/images/gpu.sqfs"
cp -a "$root" "$stage/images/gpu-new"
printf '{\n  "cuda" : {\n    "name" : "CUDA SDK",\n    "version" : "12.6.2"\n  }\n}\n' > "$stage/images/gpu-new/usr/local/cuda/version.json"
rm -rf "$root"
