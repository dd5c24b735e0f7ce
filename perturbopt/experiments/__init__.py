"""Reproductions of the experiments of Berthet et al. (2020), as reusable functions.

* :mod:`perturbopt.experiments.ranking`: learning to rank noisy data over the
  permutahedron (Sect. 5.2, Fig. 4); it backs ``perturbopt demo``.
* :mod:`perturbopt.experiments.classification`: perturbed-max classification against
  cross-entropy (Sect. 5.1, Fig. 2), on scikit-learn's digits.

They need torch (``pip install "perturbopt[torch]"``); plotting needs matplotlib
(``pip install "perturbopt[examples]"``), imported only when a figure is drawn.
"""
