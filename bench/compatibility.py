"""Bilinear model + WARP: λ selection on the issue's problem size, fast solvers vs the straightforward way.

Synthetic data with class structure: 10,000 training clips (128-d) of 300 training
classes (700-d class embeddings), and 3,000 validation clips of 100 other classes.
Every method fits one model per λ in {0, 0.01, 1, 10} on the training classes and picks
the λ with the best zero-shot Top-1 on the validation classes. The rows:

- zsac L-BFGS / Adam: ``select_lambda`` with ``Bilinear(solver=...)`` (full batch).
- zsac SGD: the paper's mini-batch SGD (``solver="sgd"``, 20 epochs of 64-clip batches).
- straightforward torch: zsac's Adam algorithm (θ and φ rescaled to unit RMS norm, step
  0.03 decaying by a cosine, 300 iterations) with the objective written directly in
  torch: the full 128 x 700 W, scores θ W φᵀ, hinges, ranks and weights as tensors,
  autograd. Against "zsac Adam" it isolates the cost of the implementation.

Each row reports the total seconds for the whole λ grid, the chosen λ, its validation
Top-1 and the training objective (eq. 9, float64) of the chosen model.

Usage: python bench/compatibility.py [--device cpu|cuda] [--skip-straightforward] [--threads N]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np
import torch

from zsac.compatibility import PAPER_LAMBDA_GRID, Bilinear, rank_weight_table, select_lambda, warp_objective


def make_data(
    seed: int = 0, n_train: int = 10_000, n_val: int = 3_000, train_classes: int = 300, val_classes: int = 100
):
    """Clips and classes that share a latent space, so zero-shot transfer is possible but noisy."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(train_classes + val_classes, 64))
    semantic = latent @ rng.normal(size=(64, 700)) / 8 + rng.normal(scale=0.5, size=(len(latent), 700))
    acoustic_map = rng.normal(size=(64, 128)) / 8

    def clips(classes: np.ndarray, n: int):
        labels = rng.integers(0, len(classes), n)
        return (latent[classes[labels]] @ acoustic_map + rng.normal(scale=4.0, size=(n, 128))), labels

    train_ids, val_ids = np.arange(train_classes), np.arange(train_classes, train_classes + val_classes)
    x_train, y_train = clips(train_ids, n_train)
    x_val, y_val = clips(val_ids, n_val)
    return (x_train, y_train, semantic[train_ids]), (x_val, y_val, semantic[val_ids])


def straightforward_fit(theta, labels, phi, lam, *, iterations: int, device: str) -> np.ndarray:
    """The WARP objective written plainly in torch, autograd on the full W, zsac's Adam schedule."""
    theta_scale = np.sqrt(np.mean(np.sum(theta**2, axis=1)))
    phi_scale = np.sqrt(np.mean(np.sum(phi**2, axis=1)))
    theta_t = torch.as_tensor(theta / theta_scale, dtype=torch.float32, device=device)
    phi_t = torch.as_tensor(phi / phi_scale, dtype=torch.float32, device=device)
    lam = lam / (theta_scale * phi_scale) ** 2
    labels_t = torch.as_tensor(labels, device=device)
    table = torch.as_tensor(rank_weight_table(len(phi)), dtype=torch.float32, device=device)
    W = torch.zeros(theta.shape[1], phi.shape[1], device=device, requires_grad=True)
    optimizer = torch.optim.Adam([W], lr=0.03)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=iterations)
    delta = 1 - torch.nn.functional.one_hot(labels_t, len(phi)).float()
    for _ in range(iterations):
        scores = theta_t @ W @ phi_t.T
        hinges = torch.relu(delta + scores - scores.gather(1, labels_t[:, None]))
        ranks = (hinges > 0).sum(dim=1)
        loss = (table[ranks] * hinges.sum(dim=1)).mean() + lam * (W**2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return W.detach().double().cpu().numpy() / (theta_scale * phi_scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-straightforward", action="store_true", help="leave out the slow reference row")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train, val = make_data()
    rows = []
    for name, estimator in [
        ("zsac L-BFGS (default)", Bilinear(solver="lbfgs", device=args.device)),
        ("zsac Adam", Bilinear(solver="adam", device=args.device)),
        ("zsac SGD (paper)", Bilinear(solver="sgd", device=args.device)),
    ]:
        start = time.perf_counter()
        selection = select_lambda(*train, *val, estimator=estimator)
        seconds = time.perf_counter() - start
        rows.append(
            (name, seconds, selection.lam, selection.validation_top1[selection.lam], selection.model.objective_)
        )
    if not args.skip_straightforward:
        start = time.perf_counter()
        top1, weights = {}, {}
        for lam in PAPER_LAMBDA_GRID:
            weights[lam] = straightforward_fit(*train, lam, iterations=300, device=args.device)
            top1[lam] = float(np.mean(np.argmax(val[0] @ weights[lam] @ val[2].T, axis=1) == val[1]))
        seconds = time.perf_counter() - start
        best = max(PAPER_LAMBDA_GRID, key=lambda lam: (top1[lam], lam))
        objective = warp_objective(train[0], weights[best], train[2], train[1], best)
        rows.append(("straightforward torch", seconds, best, top1[best], objective))

    print(f"command: python {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(
        f"device: {args.device}, torch threads: {torch.get_num_threads()}; train 10,000 x 128-d clips of 300 classes "
        f"(700-d), validation 3,000 clips of 100 classes; λ grid {list(PAPER_LAMBDA_GRID)}\n"
    )
    fastest = rows[0][1]
    print("| method | seconds (4 λ) | x zsac L-BFGS | chosen λ | validation Top-1 | objective |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, seconds, lam, top1, objective in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / fastest:.1f} | {lam:g} | {top1:.3f} | {objective:.4f} |")


if __name__ == "__main__":
    main()
