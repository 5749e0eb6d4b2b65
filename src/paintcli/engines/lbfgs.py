"""Limited-memory BFGS for one tensor, kept on its device: no host synchronisation per step.

The method is torch.optim.LBFGS's with max_iter=1 and no line search (what Gatys style transfer
uses): each step takes the gradient at the current point, adds the newest curvature pair
(s = the last step, y = the change of gradient) when s.y > 1e-10, and moves by t times the
quasi-Newton direction -H g, with H's diagonal scaled by the newest pair (s.y / y.y).

torch's implementation reads every scalar back to the host (about 2 x history syncs per step), which
on a GPU costs more than the network pass. Here H g comes from the compact representation of
Byrd, Nocedal and Schnabel (1994, eq. 3.1): the pairs are rows of two matrices S and Y on the device,
one matrix product gives every inner product a step needs, and a pair torch would skip is stored as
zeros with a unit diagonal, which contributes nothing; no decision leaves the device.
    Byrd, Nocedal, Schnabel. "Representations of quasi-Newton matrices and their use in limited
    memory methods." Mathematical Programming 63 (1994).
"""

from __future__ import annotations

import torch

CURVATURE_EPS = 1e-10  # torch.optim.LBFGS's threshold for keeping a pair


class LBFGS:
    """Minimises by moving `x` (any shape; updated in place) with `step(grad)`.

    `first_step` scales the very first step as torch does (t = min(1, 1/|g|_1) * first_step); later
    steps use `lr`.
    """

    def __init__(self, x: torch.Tensor, *, history: int = 100, lr: float = 1.0, first_step: float | None = None):
        n, dev = x.numel(), x.device
        self.x, self.lr, self.first_step = x, lr, lr if first_step is None else first_step
        self.m = history
        self.S = torch.zeros(history, n, device=dev, dtype=x.dtype)  # ring buffer of steps s, one per row
        self.Y = torch.zeros(history, n, device=dev, dtype=x.dtype)  # ... and of gradient changes y
        self.SY = torch.zeros(history, history, device=dev, dtype=x.dtype)  # s_i . y_j by ring slot
        self.YY = torch.zeros(history, history, device=dev, dtype=x.dtype)  # y_i . y_j
        self.valid = torch.zeros(history, device=dev, dtype=x.dtype)
        self.gamma = torch.ones((), device=dev, dtype=x.dtype)  # H's diagonal: s.y / y.y of the newest kept pair
        order = torch.arange(history, device=dev)
        # row k: the slots from oldest to newest after k pairs have been pushed (the ring turned k times)
        self.orders = torch.stack([(order + k + 1) % history for k in range(history)])
        self.pushed = 0
        self.prev_grad: torch.Tensor | None = None
        self.prev_step: torch.Tensor | None = None

    @torch.no_grad()
    def step(self, grad: torch.Tensor) -> None:
        g = grad.reshape(-1)
        if self.prev_grad is None:  # the first step: plain gradient descent, scaled as torch does
            t = torch.clamp(1.0 / g.abs().sum(), max=1.0) * self.first_step
            direction = -g
        else:
            direction, t = -self._push_and_solve(self.prev_step, g - self.prev_grad, g), self.lr
        self.prev_grad = g.clone()
        self.prev_step = direction * t
        self.x.view(-1).add_(self.prev_step)

    def _push_and_solve(self, s: torch.Tensor, y: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Add the pair (s, y) (as zeros when s.y is too small) and return H g.

        One product with each history matrix gives the new row and column of S.Y^T and Y.Y^T and
        the projections S g and Y g; one more with each forms H g (the history is read twice)."""
        slot = self.pushed % self.m
        ys = s @ y
        keep = (ys > CURVATURE_EPS).to(s.dtype)
        self.S[slot], self.Y[slot] = s * keep, y * keep
        s_new, y_new = self.S[slot], self.Y[slot]
        with_s = self.S @ torch.stack([y_new, g], 1)  # S.y_new, S.g
        with_y = self.Y @ torch.stack([s_new, y_new, g], 1)  # Y.s_new, Y.y_new, Y.g
        self.SY[:, slot], self.SY[slot, :] = with_s[:, 0], with_y[:, 0]
        self.YY[:, slot], self.YY[slot, :] = with_y[:, 1], with_y[:, 1]
        self.valid[slot] = keep
        self.gamma = torch.where(keep > 0, ys / (y @ y).clamp_min(1e-30), self.gamma)
        self.pushed += 1
        # the compact form, with the pairs in time order (oldest first)
        order = self.orders[(self.pushed - 1) % self.m]
        SY, YY, valid = self.SY[order][:, order], self.YY[order][:, order], self.valid[order]
        a, b = with_s[order, 1], with_y[order, 2]
        R = torch.triu(SY) + torch.diag(1.0 - valid)  # s_i . y_j, i not newer than j; unit diagonal for skipped pairs
        D = torch.diag(torch.diagonal(SY) * valid)
        w = torch.linalg.solve_triangular(R, a[:, None], upper=True)
        p = torch.linalg.solve_triangular(R.T, (D + self.gamma * YY) @ w - self.gamma * b[:, None], upper=False)
        p_slot, w_slot = torch.empty_like(p[:, 0]), torch.empty_like(w[:, 0])
        p_slot[order], w_slot[order] = p[:, 0], w[:, 0]
        return self.gamma * g + p_slot @ self.S - self.gamma * (w_slot @ self.Y)
