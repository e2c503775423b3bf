#!/usr/bin/env python3
"""Synthetic hwloc 2.x topology for placement tests: a GPU with no NIC in its own NUMA node.

2 packages x 2 NUMA nodes (NPS2-like), 8 cores x 2 threads per NUMA node (PUs 8n..8n+7 and
32+8n..32+8n+7), one NVIDIA GPU per NUMA node (cuda0-3 on NUMA 0-3), InfiniBand HCAs only on
NUMA 0 (mlx5_0), NUMA 2 (mlx5_1) and NUMA 3 (mlx5_2), and a plain Ethernet port on NUMA 1 (eno1).
So GPU 1 has no HCA in its NUMA node; the nearest is mlx5_0 in its package, next to GPU 0, while
package 1 has two HCAs. A planner that balances loads before locality sends a package-0 rank to
package 1; the right answer keeps it on mlx5_0.
Usage: make_split_nics.py > split-nics.raw.xml, then finalize.py (lstopo round-trip)."""
import sys
sys.path.insert(0, __file__.rsplit('/', 1)[0])
from hwlocxml import *

G4 = "15.753846"
machine = Obj("Machine", {"os_index": "0"}, [
    ("Backend", "Linux"), ("OSName", "Linux"), ("Architecture", "x86_64"), ("HostName", "split-nics-synthetic"),
    ("TestDataOrigin", "synthetic (cexec tests/topology/tools/make_split_nics.py), not a capture")])

def gpu(bus, i):
    d = pcidev("0000:%02x:00.0" % bus, "0302", "[10de:2330] [10de:16c1] a1", "NVIDIA Corporation", "GH100 [H100 SXM5 80GB]", G4)
    return d.add(osdev("cuda%d" % i, 5, "CUDA", [("Backend", "CUDA"), ("GPUVendor", "NVIDIA Corporation")]),
                 osdev("nvml%d" % i, 1, "NVML", [("Backend", "NVML")]))

def hca(bus, i):
    d = pcidev("0000:%02x:00.0" % bus, "0207", "[15b3:1021] [15b3:0041] 00", "Mellanox Technologies", "MT2910 Family [ConnectX-7]", G4)
    return d.add(osdev("ibp%ds0" % bus, 2, None, [("Address", "00:00:10:49:fe:80:00:00:00:00:00:00:00:00:00:00:00:00:00:%02x" % i)]),
                 osdev("mlx5_%d" % i, 3, None, [("NodeGUID", "0000:0000:0000:00%02x" % i), ("Port1State", "4"), ("Port1LinkLayer", "InfiniBand")]))

def eth(bus):
    d = pcidev("0000:%02x:00.0" % bus, "0200", "[8086:1521] [8086:0001] 01", "Intel Corporation", "I350 Gigabit Network Connection", "0.250000")
    return d.add(osdev("eno1", 2, None, [("Address", "00:00:5e:00:53:01")]))

# NUMA node -> devices (bus, maker) in bus order
io = {0: [(0x04, lambda b: gpu(b, 0)), (0x05, lambda b: hca(b, 0))],
      1: [(0x24, lambda b: gpu(b, 1)), (0x25, eth)],
      2: [(0x84, lambda b: gpu(b, 2)), (0x85, lambda b: hca(b, 1))],
      3: [(0xa4, lambda b: gpu(b, 3)), (0xa5, lambda b: hca(b, 2))]}

for p in range(2):
    pkg = Obj("Package", {"os_index": str(p)}, [("CPUVendor", "GenuineIntel"), ("CPUModel", "synthetic 16-core")])
    for n in (2 * p, 2 * p + 1):
        g = Obj("Group", {"kind": "1001", "subkind": "0"})
        g.add(numanode(n, 68_719_476_736))
        l3 = cache(3, 32 * 1024 * 1024, 16, 0, n)
        for c in range(8):
            gi = 8 * n + c
            l3.add(core(gi, [gi, gi + 32], n, l2=2 * 1024 * 1024))
        g.add(l3)
        for bus, make in io[n]:
            g.add(hostbridge(bus, bus).add(pcibridge("0000:%02x:01.0" % (bus - 1 if bus % 0x20 else bus), bus, bus,
                                                      "[8086:352a] [0000:0000] 04", 0, G4).add(make(bus))))
        pkg.add(g)
    machine.add(pkg)

sys.stdout.write(document(machine, numa_latency(4, lambda i, j: i // 2 == j // 2, 10, 12, 21)))
