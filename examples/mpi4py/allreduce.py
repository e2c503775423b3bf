#!/usr/bin/env python3
"""Allreduce of NumPy arrays with mpi4py, in the PyTorch example's image (which has mpi4py and
Debian's Open MPI):  mpirun -np 4 cexec pytorch.img python3 examples/mpi4py/allreduce.py"""
import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
mine = np.full(1 << 20, rank + 1, dtype=np.float64)  # 8 MiB per rank
total = np.empty_like(mine)
comm.Allreduce(mine, total, op=MPI.SUM)
expected = size * (size + 1) / 2
ok = bool(np.all(total == expected))
oks = comm.gather(ok, root=0)
if rank == 0:
    print(f"allreduce of {mine.size} float64 over {size} ranks: {total[0]:.0f} "
          f"(expected {expected:.0f}) {'ok' if all(oks) else 'WRONG'}  [{MPI.Get_library_version().rstrip(chr(0)).splitlines()[0].strip()}]")
comm.Barrier()
raise SystemExit(0 if ok else 1)
