"""perturbopt in one page: a perturbed solver, its estimators, and a gradient step.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

import perturbopt


def main() -> None:
    theta = np.array([0.5, 1.5, 1.0, -0.5])

    # 1. A built-in solver: argmax over the simplex. With Gumbel noise the perturbed
    #    solution is softmax(theta / eps), so we can see the estimate converge.
    po = perturbopt.perturbed("argmax", epsilon=0.5, num_samples=5000, noise="gumbel", seed=0)
    result = po.solve(theta)
    print("y*(theta)          ", po.hard(theta))
    print("y_eps(theta)       ", result.mean.round(3), "+/-", result.stderr.round(3))
    print("softmax(theta/eps) ", softmax(theta / 0.5).round(3))
    print("F_eps(theta)       ", round(result.value, 3), "+/-", round(result.value_stderr, 3))

    # 2. Its Jacobian, from the same samples (no extra solve).
    g = np.array([1.0, 0.0, 0.0, 0.0])
    print("J^T g (leave-one-out baseline)", result.vjp(g).round(3))

    # 3. Any function is a solver: here, the indicator of the two largest entries,
    #    solved in a batch on two worker processes.
    def top_two(t: np.ndarray) -> np.ndarray:
        return (t >= np.sort(t)[-2]).astype(float)

    batch = np.random.default_rng(1).normal(size=(8, 4))
    po2 = perturbopt.perturbed(top_two, epsilon=1.0, num_samples=200, seed=0, n_jobs=2)
    print("perturbed top-2 of the first instance", po2(batch)[0].round(2))

    # 4. One Fenchel-Young step, in numpy: the gradient of F_eps(theta) - <theta, y> is
    #    y_eps(theta) - y, so moving theta against it makes y the likelier solution.
    target = np.array([0.0, 0.0, 1.0, 0.0])
    for _ in range(50):
        theta = theta - 0.5 * (po(theta) - target)
    print("after 50 Fenchel-Young steps towards item 2:", po(theta).round(2))


if __name__ == "__main__":
    main()
