"""Win rates of pairwise judgments: raw, length-controlled (Dubois et al., 2024), bootstrap intervals.

Two length-controlled fits: `debiased` (below, on token lengths) and `paper` (the authors' fit, on
character lengths; see paper_lc_fit).

Every judged game has an outcome for the evaluated model: 1 win, 0.5 tie, 0 loss (unparseable games are
counted apart and never enter a rate). The length-controlled win rate fits a logistic model of the outcome

    logit P(model preferred) = intercept + slope * tanh((len_model - len_baseline) / scale)

and reports sigmoid(intercept): the predicted win rate at zero length difference. `scale` is the standard
deviation of the length differences (AlpacaEval's normalisation). With no length differences the model has
the intercept alone and the LC win rate equals the raw win rate; when preference follows length only, the
intercept goes to zero and the LC win rate to 50%.
"""

from __future__ import annotations

import numpy as np

RIDGE = 1e-4  # keeps the fit finite when games are separable (all wins, or length decides every game)


def raw_win_rate(outcomes) -> float:
    outcomes = np.asarray(outcomes, dtype=float)
    return float(outcomes.mean()) if outcomes.size else float("nan")


def length_feature(length_difference) -> np.ndarray:
    diff = np.asarray(length_difference, dtype=float)
    scale = diff.std()
    if diff.size == 0 or scale == 0:
        return np.zeros_like(diff)
    return np.tanh(diff / scale)


def fit_logistic(features: np.ndarray, outcomes: np.ndarray, iterations: int = 100) -> np.ndarray:
    """Newton-Raphson on the (fractional-outcome) logistic log-likelihood with a tiny ridge."""
    X = np.column_stack([np.ones(len(outcomes)), features])
    w = np.zeros(X.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-X @ w))
        gradient = X.T @ (outcomes - p) - RIDGE * w
        hessian = (X * (p * (1 - p))[:, None]).T @ X + RIDGE * np.eye(X.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return w


def lc_win_rate(outcomes, length_difference) -> float:
    outcomes = np.asarray(outcomes, dtype=float)
    if outcomes.size == 0:
        return float("nan")
    feature = length_feature(length_difference)
    if not feature.any():
        return raw_win_rate(outcomes)  # the intercept-only fit is the mean outcome exactly
    intercept = fit_logistic(feature[:, None], outcomes)[0]
    return float(1.0 / (1.0 + np.exp(-intercept)))


# ---------------------------------------------------------------- the authors' LC win rate (protocol: paper)
# Their fit, as their judge script computes it (facts of the protocol, in our words): length difference in
# characters, x = tanh(diff / its population std), a logistic model with an L2 penalty of 1.0 on the length
# coefficient only, logits clipped to +-30 and probabilities to [1e-10, 1 - 1e-10], minimized by L-BFGS-B from
# (0, 0) with finite-difference gradients; the LC win rate is sigmoid(intercept). When every difference is
# the same (std < 1e-8), it is the mean outcome.
PAPER_LENGTH_PENALTY = 1.0


def paper_lc_fit(outcomes, length_difference) -> tuple[float, float]:
    """(intercept, length coefficient) of the authors' penalized fit; (nan, nan) without games."""
    from scipy.optimize import minimize

    y = np.asarray(outcomes, dtype=float)
    diff = np.asarray(length_difference, dtype=float)
    if y.size == 0:
        return float("nan"), float("nan")
    scale = np.std(diff)
    if scale < 1e-8:
        return float("nan"), 0.0
    x = np.tanh(diff / scale)

    def objective(params):
        intercept, slope = params
        p = 1.0 / (1.0 + np.exp(-np.clip(intercept + slope * x, -30, 30)))
        p = np.clip(p, 1e-10, 1 - 1e-10)
        return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) + PAPER_LENGTH_PENALTY * slope**2

    fit = minimize(objective, x0=[0.0, 0.0], method="L-BFGS-B")
    return float(fit.x[0]), float(fit.x[1])


def paper_lc_win_rate(outcomes, length_difference) -> float:
    y = np.asarray(outcomes, dtype=float)
    if y.size == 0:
        return float("nan")
    intercept, _ = paper_lc_fit(y, length_difference)
    if np.isnan(intercept):  # no length variation: the mean outcome
        return raw_win_rate(y)
    return float(1.0 / (1.0 + np.exp(-intercept)))


def standard_error(outcomes) -> float:
    """Standard error of the mean outcome (sample std / sqrt(n)), as the authors report it."""
    y = np.asarray(outcomes, dtype=float)
    if y.size < 2:
        return 0.0 if y.size else float("nan")
    return float(y.std(ddof=1) / np.sqrt(y.size))


LC_METHODS = {"debiased": lc_win_rate, "paper": paper_lc_win_rate}


def bootstrap_intervals(
    outcomes, length_difference, statistics, samples: int, seed: int, groups=None
) -> list[tuple[float, float]]:
    """95% percentile interval of each statistic over the same resamples; resamples prompts (`groups`)
    when a prompt was judged in both orders."""
    outcomes = np.asarray(outcomes, dtype=float)
    length_difference = np.asarray(length_difference, dtype=float)
    if outcomes.size == 0 or samples == 0:
        return [(float("nan"), float("nan"))] * len(statistics)
    rng = np.random.default_rng(seed)
    if groups is None:
        groups = np.arange(outcomes.size)
    unique, group_index = np.unique(np.asarray(groups), return_inverse=True)
    members = [np.flatnonzero(group_index == g) for g in range(len(unique))]
    values = np.empty((len(statistics), samples))
    for b in range(samples):
        picked = rng.integers(0, len(unique), len(unique))
        rows = np.concatenate([members[g] for g in picked])
        for k, statistic in enumerate(statistics):
            values[k, b] = statistic(outcomes[rows], length_difference[rows])
    return [tuple(float(v) for v in np.nanpercentile(row, [2.5, 97.5])) for row in values]


def summarize(
    outcomes, length_difference, groups=None, bootstrap_samples: int = 1000, seed: int = 0, lc_method: str = "debiased"
) -> dict:
    """Counts, raw and LC win rate (in percent) with bootstrap 95% intervals and the standard error of the
    win rate. `lc_method`: `debiased` (the fit above) or `paper` (the authors' penalized fit)."""
    lc = LC_METHODS[lc_method]
    outcomes = np.asarray(outcomes, dtype=float)
    length_difference = np.asarray(length_difference, dtype=float)
    (win_low, win_high), (lc_low, lc_high) = bootstrap_intervals(
        outcomes, length_difference, [lambda o, d: raw_win_rate(o), lc], bootstrap_samples, seed, groups
    )
    return {
        "games": int(outcomes.size),
        "wins": int((outcomes == 1).sum()),
        "ties": int((outcomes == 0.5).sum()),
        "losses": int((outcomes == 0).sum()),
        "win_rate": 100 * raw_win_rate(outcomes),
        "win_rate_ci95": [100 * win_low, 100 * win_high],
        "win_rate_standard_error": 100 * standard_error(outcomes),
        "lc_win_rate": 100 * lc(outcomes, length_difference),
        "lc_win_rate_ci95": [100 * lc_low, 100 * lc_high],
    }
