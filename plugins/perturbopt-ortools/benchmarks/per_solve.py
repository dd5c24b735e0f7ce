"""Per-solve times of the perturbopt-ortools solvers (median of 50 solves after a warm-up).

Run: python plugins/perturbopt-ortools/benchmarks/per_solve.py
"""

import time

import numpy as np
from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

import perturbopt

rng = np.random.default_rng(0)


def timed(solver, theta, repeats=50):
    """Median milliseconds of solver.solve(theta)."""
    solver.solve(theta)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        solver.solve(theta)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def report(label, solver, theta):
    print(f"{label}: {timed(solver, theta):.3f} ms")


report("assignment 50x50", perturbopt.get_solver("ortools.assignment"), rng.normal(size=(50, 50)))
g = 20
edges = [(r * g + c, r * g + c + 1) for r in range(g) for c in range(g - 1)]
edges += [(r * g + c, (r + 1) * g + c) for r in range(g - 1) for c in range(g)]
edges += [(b, a) for a, b in edges]
report(f"shortest_path 20x20 grid ({len(edges)} edges)",
       perturbopt.get_solver("ortools.shortest_path", edges=edges, source=0, target=g * g - 1),
       rng.uniform(1, 2, len(edges)))
supplies = np.zeros(g * g, int)
supplies[:5], supplies[-5:] = 2, -2
report("min_cost_flow same grid",
       perturbopt.get_solver("ortools.min_cost_flow", edges=edges,
                             capacities=np.full(len(edges), 3), supplies=supplies),
       rng.normal(size=len(edges)))
n = 30
w = rng.integers(1, 20, n)
model = cp_model.CpModel()
x = [model.new_bool_var(f"x{i}") for i in range(n)]
model.add(sum(int(a) * b for a, b in zip(w, x)) <= int(w.sum() // 3))
report("cp_sat knapsack 30 items", perturbopt.get_solver("ortools.cp_sat", model=model, variables=x),
       rng.normal(size=n))
k = 15
lp = mathopt.Model()
v = [[lp.add_variable(lb=0, ub=1) for _ in range(k)] for _ in range(k)]
for i in range(k):
    lp.add_linear_constraint(sum(v[i]) == 1)
    lp.add_linear_constraint(sum(v[j][i] for j in range(k)) == 1)
report("mathopt GLOP assignment LP 15x15",
       perturbopt.get_solver("ortools.mathopt", model=lp, variables=v), rng.normal(size=(k, k)))
mip = mathopt.Model()
b = [mip.add_binary_variable() for _ in range(n)]
mip.add_linear_constraint(sum(float(a) * bi for a, bi in zip(w, b)) <= float(w.sum() // 3))
report("mathopt HIGHS knapsack MIP 30 items",
       perturbopt.get_solver("ortools.mathopt", model=mip, variables=b, solver_type="HIGHS"),
       rng.normal(size=n))
