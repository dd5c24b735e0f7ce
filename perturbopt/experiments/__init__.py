"""Reproductions of the experiments of Berthet et al. (2020), as reusable functions.

* [`perturbopt.experiments.ranking`][perturbopt.experiments.ranking]: learning to rank noisy data over the
  permutahedron (Sect. 5.2, Fig. 4); the default of ``perturbopt demo``.
* [`perturbopt.experiments.classification`][perturbopt.experiments.classification]: perturbed-max classification against
  cross-entropy (Sect. 5.1, Fig. 2), on scikit-learn's digits.
* [`perturbopt.experiments.shortest_path`][perturbopt.experiments.shortest_path]: shortest paths learned from terrain
  images (Sect. 5.3, Figs. 3 and 5), against blackbox differentiation; its maps come
  from [`perturbopt.experiments.terrain`][perturbopt.experiments.terrain] (generated, or the published Warcraft
  files).

They share one training loop, one configuration check, one table format and one figure
helper, which draws on an explicit matplotlib ``Figure`` and leaves pyplot and the
user's backend alone. They need torch (``pip install "perturbopt[torch]"``); the
shortest paths need the ``perturbopt-scipy`` plugin; plotting needs matplotlib
(``pip install "perturbopt[examples]"``), imported only when a figure is drawn.
"""
