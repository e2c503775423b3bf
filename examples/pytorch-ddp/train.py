#!/usr/bin/env python3
"""Data-parallel training of a small network on scikit-learn's digits, with PyTorch's
DistributedDataParallel over the gloo backend.

Started by any launcher through cexec, with no wrapper script: cexec exports RANK, WORLD_SIZE,
LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT to every rank (docs/framework-env.md),
which is all torch.distributed's env:// rendezvous reads.

    mpirun -np 4 cexec pytorch.img python3 train.py
    srun cexec pytorch.img python3 train.py        (train.sbatch)
    python3 train.py                               (one process, no launcher)

Rank 0 prints each rank's placement, per-epoch loss and accuracy, the final test accuracy and the
training throughput; every rank prints a checksum of its parameters (equal on all ranks when DDP
kept the replicas in step).
"""
import argparse
import hashlib
import os
import socket
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32, help="per rank")
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def cpu_list(cpus):
    """{0,1,2,5} -> '0-2,5'."""
    out, run = [], []
    for c in sorted(cpus) + [None]:
        if run and (c is None or c != run[-1] + 1):
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run = []
        if c is not None:
            run.append(c)
    return ",".join(out)


def start_process_group():
    """env:// rendezvous; a lone process (no launcher, nothing exported) is a world of one."""
    if "WORLD_SIZE" not in os.environ:
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", LOCAL_WORLD_SIZE="1")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        if "MASTER_PORT" not in os.environ:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                os.environ["MASTER_PORT"] = str(s.getsockname()[1])
    dist.init_process_group("gloo", init_method="env://")
    return dist.get_rank(), dist.get_world_size()


def set_threads():
    """One thread per rank unless OMP_NUM_THREADS says otherwise: the network is small, so threads
    within a rank cost more in synchronisation than they gain, and the ranks already share the cores."""
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    return torch.get_num_threads()


def placement(threads):
    env = os.environ
    where = "container " + env["CEXEC_IMAGE"] if env.get("CEXEC_CONTAINER") == "1" else "host"
    return (f"rank {env['RANK']}/{env['WORLD_SIZE']} local {env.get('LOCAL_RANK', '?')}/"
            f"{env.get('LOCAL_WORLD_SIZE', '?')} on {socket.gethostname()} pid {os.getpid()} "
            f"cpus {cpu_list(os.sched_getaffinity(0))} threads {threads} "
            f"gpus {env.get('CUDA_VISIBLE_DEVICES', '-') or '-'} "
            f"master {env['MASTER_ADDR']}:{env['MASTER_PORT']} in {where}")


def load_data(seed):
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    return (TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
            TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test)))


def make_model():
    return nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def evaluate(model, data, rank, world):
    """Accuracy over the whole set: each rank scores every world-th sample, the counts are summed."""
    x, y = data.tensors
    model.eval()
    with torch.no_grad():
        pred = model(x[rank::world]).argmax(dim=1)
    counts = torch.tensor([(pred == y[rank::world]).sum().item(), len(pred)], dtype=torch.float64)
    dist.all_reduce(counts)
    model.train()
    return (counts[0] / counts[1]).item()


def checksum(model):
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def main():
    args = parse_args()
    rank, world = start_process_group()
    threads = set_threads()
    lines = [None] * world
    dist.all_gather_object(lines, placement(threads))
    if rank == 0:
        print(f"torch {torch.__version__}, backend gloo, world size {world}", flush=True)
        for line in lines:
            print(line, flush=True)

    torch.manual_seed(args.seed)
    train, test = load_data(args.seed)
    sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler)
    model = DistributedDataParallel(make_model())  # broadcasts rank 0's initial weights
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    train_seconds, samples = 0.0, 0
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        dist.barrier()
        t0 = time.perf_counter()
        total = torch.zeros(2, dtype=torch.float64)  # loss sum, sample count
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += torch.tensor([loss.item() * len(y), len(y)], dtype=torch.float64)
        dist.all_reduce(total)
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        samples += int(total[1].item())
        acc = evaluate(model.module, test, rank, world)
        if rank == 0:
            print(f"epoch {epoch:2d}/{args.epochs}  loss {total[0].item() / total[1].item():.4f}  "
                  f"test accuracy {acc:.4f}  {seconds:.2f} s", flush=True)

    acc = evaluate(model.module, test, rank, world)
    sums = [None] * world
    dist.all_gather_object(sums, checksum(model.module))
    if rank == 0:
        for r, s in enumerate(sums):
            print(f"rank {r} parameter checksum {s}", flush=True)
        print(f"ranks agree on the model: {'yes' if len(set(sums)) == 1 else 'NO'}", flush=True)
        print(f"throughput {samples / train_seconds:.0f} samples/s ({samples} samples in {train_seconds:.2f} s, "
              f"{world} ranks)", flush=True)
        print(f"final test accuracy {acc:.4f}", flush=True)
    return 0 if len(set(sums)) == 1 else 1


if __name__ == "__main__":
    status = main()
    # Leave without the interpreter's teardown: in PyTorch 1.13 the DDP reducer's destructor can
    # destroy the gloo process group on the main thread, holding the GIL, while a gloo worker frees
    # a tensor and waits for the GIL; the process then never exits (seen here in about one run in
    # three). Every rank has finished its collectives (the all_gather above), output is flushed.
    dist.barrier()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
