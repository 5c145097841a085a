"""STIRPAT regression: ``ln I = a + b ln P + c ln A + d ln T + e`` with ridge regularisation.

Drivers of emissions (population, affluence, technology, urbanisation, industry share, ...) are
strongly collinear in city time series; ordinary least squares then gives unstable elasticities.
Ridge regression on standardised log drivers (Hoerl & Kennard 1970) shrinks them; the penalty is
chosen by generalised cross-validation (Golub, Heath & Wahba 1979) unless given, and intervals
come from a pairs bootstrap computed for all resamples at once (batched normal equations).

The coefficients of a log-log model are elasticities: the % change of emissions for a 1 % change
of the driver, other drivers fixed (York, Rosa & Dietz 2003, section "STIRPAT").

References
----------
[1] Dietz, T., Rosa, E.A. (1997) Effects of population and affluence on CO2 emissions.
    PNAS 94(1), 175-179. Eq. (2).
[2] York, R., Rosa, E.A., Dietz, T. (2003) STIRPAT, IPAT and ImPACT: analytic tools for
    unpacking the driving forces of environmental impacts. Ecological Economics 46, 351-365.
    Eq. (2)-(3) (log form, elasticities).
[3] Hoerl, A.E., Kennard, R.W. (1970) Ridge regression: biased estimation for nonorthogonal
    problems. Technometrics 12(1), 55-67.
[4] Golub, G.H., Heath, M., Wahba, G. (1979) Generalized cross-validation as a method for
    choosing a good ridge parameter. Technometrics 21(2), 215-223.
[5] Efron, B., Tibshirani, R. (1993) An Introduction to the Bootstrap, ch. 9 (pairs bootstrap)
    and ch. 13 (percentile intervals).
[6] Belsley, D.A., Kuh, E., Welsch, R.E. (1980) Regression Diagnostics. Wiley, ch. 3
    (condition number of the column-scaled design; > 30 = strong dependence).
[7] Marquardt, D.W. (1970) Generalized inverses, ridge regression, biased linear estimation
    and nonlinear estimation. Technometrics 12(3), 591-612 (VIF = diagonal of the inverse
    correlation matrix; > 10 = serious collinearity).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from citycarbon.errors import InputError

#: Penalties searched by generalised cross-validation (on standardised drivers).
ALPHA_GRID = np.logspace(-4, 3, 71)
#: Rules of thumb the diagnostics flag: VIF (Marquardt 1970), condition number (Belsley et al.
#: 1980), observations per estimated coefficient (a common minimum for regression).
VIF_LIMIT = 10.0
CONDITION_LIMIT = 30.0
OBS_PER_COEFFICIENT = 10


def _design(frame: pd.DataFrame, response: str, drivers: Sequence[str], *, check_size: bool = True):
    cols = [response, *drivers]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InputError(f"missing columns {missing}", field="columns", value=missing)
    data = frame[cols].astype(float)
    if (data <= 0).any().any() or not np.isfinite(data.to_numpy()).all():
        bad = data.columns[((data <= 0) | ~np.isfinite(data)).any()].tolist()
        raise InputError("STIRPAT needs positive, finite values (log model)", field=str(bad))
    if check_size and len(data) < len(drivers) + 2:
        raise InputError(
            f"{len(data)} observations for {len(drivers)} drivers: need at least drivers + 2",
            value=len(data),
        )
    logs = np.log(data.to_numpy())
    return logs[:, 1:], logs[:, 0]


def _ridge_std(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Elasticities from ridge on standardised ``x`` (batched: x (..., n, p), y (..., n))."""
    mx = x.mean(axis=-2, keepdims=True)
    sx = x.std(axis=-2, keepdims=True)
    sx = np.where(sx > 0, sx, 1.0)
    z = (x - mx) / sx
    yc = y - y.mean(axis=-1, keepdims=True)
    p = x.shape[-1]
    zt = np.swapaxes(z, -1, -2)
    gram = zt @ z + alpha * np.eye(p)
    beta_std = np.linalg.solve(gram, (zt @ yc[..., None]))[..., 0]
    return beta_std / sx[..., 0, :]


def gcv_alpha(x: np.ndarray, y: np.ndarray, grid: np.ndarray = ALPHA_GRID) -> float:
    """Ridge penalty minimising generalised cross-validation ``n RSS / (n - df)^2``.

    References
    ----------
    [1] Golub, Heath & Wahba (1979), eq. (1.4); df = sum d_j^2 / (d_j^2 + alpha) (SVD of Z).
    """
    z = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
    yc = y - y.mean()
    u, d, _ = np.linalg.svd(z, full_matrices=False)
    uty = u.T @ yc
    n = len(y)
    shrink = d[None, :] ** 2 / (d[None, :] ** 2 + grid[:, None])  # (grid, p)
    fitted_sq = ((shrink * uty[None, :]) ** 2).sum(1)
    cross = (shrink * uty[None, :] ** 2).sum(1)
    rss = yc @ yc - 2 * cross + fitted_sq
    df = shrink.sum(1)
    gcv = n * rss / np.maximum(n - 1 - df, 1e-9) ** 2
    return float(grid[int(np.argmin(gcv))])


def r_squared(x: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    """Coefficient of determination of ``ln I`` fitted with elasticities ``beta`` and the
    least-squares intercept: ``R^2 = 1 - RSS / TSS``.

    For ridge (any penalty) ``0 <= R^2 <= 1``: ``beta = 0`` is a candidate of the penalised
    least squares with ``RSS = TSS``, so the ridge solution's RSS is no larger (Hoerl & Kennard
    1970); OLS (``alpha = 0``) has the largest R^2 of all.
    """
    resid = (y - y.mean()) - (x - x.mean(axis=0)) @ beta
    tss = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(resid @ resid) / tss if tss > 0 else float("nan")


def stirpat_ridge(
    frame: pd.DataFrame,
    response: str,
    drivers: Sequence[str],
    *,
    alpha: float | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """STIRPAT elasticities by ridge regression with bootstrap confidence intervals.

    Parameters
    ----------
    frame : DataFrame
        One row per observation (year, or city-year); all columns positive.
    response : str
        Impact column, e.g. ``emissions_tco2e``.
    drivers : sequence of str
        Driver columns, e.g. ``population``, ``gdp_per_capita``, ``energy_intensity``.
    alpha : float, optional
        Ridge penalty on standardised log drivers; ``None`` chooses it by GCV, ``0`` is OLS.
    n_boot : int
        Pairs-bootstrap resamples (vectorised; no Python loop over resamples).
    ci : float
        Confidence level of the percentile intervals.
    seed : int
        Seed of the resampling (reproducible results).

    Returns
    -------
    DataFrame
        One row per driver: ``driver, elasticity, ci_low, ci_high, alpha, n_obs, r_squared,
        method`` (``r_squared`` of the fit on the log scale, :func:`r_squared`).

    References
    ----------
    [1] York, Rosa & Dietz (2003), eq. (3): ``ln I = a + b ln P + c ln A + d ln T + e``.
    [2] Hoerl & Kennard (1970); [5] Efron & Tibshirani (1993) percentile interval.
    """
    x, y = _design(frame, response, drivers)
    if alpha is None:
        alpha = gcv_alpha(x, y)
    if alpha < 0:
        raise InputError("alpha must be >= 0", field="alpha", value=alpha)
    beta = _ridge_std(x, y, alpha)
    rng = np.random.default_rng(seed)
    n = len(y)
    idx = rng.integers(0, n, size=(n_boot, n))
    with np.errstate(all="ignore"):
        try:
            boot = _ridge_std(x[idx], y[idx], alpha + 1e-12)
        except np.linalg.LinAlgError:
            boot = np.full((n_boot, len(drivers)), np.nan)
    q = [(1 - ci) / 2 * 100, (1 + ci) / 2 * 100]
    lo, hi = np.nanpercentile(boot, q, axis=0)
    return pd.DataFrame(
        {
            "driver": list(drivers),
            "elasticity": beta,
            "ci_low": lo,
            "ci_high": hi,
            "alpha": alpha,
            "n_obs": n,
            "r_squared": r_squared(x, y, beta),
            "method": f"STIRPAT ridge (York, Rosa & Dietz 2003), {ci:.0%} pairs bootstrap",
        }
    )


def collinearity_diagnostics(
    frame: pd.DataFrame, response: str, drivers: Sequence[str], *, check_size: bool = True
) -> tuple[pd.DataFrame, dict]:
    """Collinearity and sample-size diagnostics of a STIRPAT design (log drivers).

    - ``VIF_j = [R^-1]_jj``, ``R`` the correlation matrix of the log drivers (Marquardt 1970);
      infinite when a driver is an exact combination of the others (e.g. Kaya terms that
      multiply to the response);
    - condition number ``kappa = s_max / s_min`` of the design ``[1, ln X]`` with columns scaled
      to unit length (Belsley, Kuh & Welsch 1980, ch. 3);
    - observations ``n``, coefficients ``p + 1`` and residual degrees of freedom ``n - p - 1``.

    Returns
    -------
    (DataFrame, dict)
        Per driver ``driver, vif, flag`` (``vif > 10`` or constant); a summary
        ``n_obs, n_coefficients, residual_df, condition_number, condition_flag,
        sample_flag`` (fewer than 10 observations per coefficient) and ``constant``
        (drivers without variation, which no regression can estimate).
        ``check_size=False`` reports a design too small to estimate (residual_df <= 0) rather
        than refusing it, so a page can say why no elasticities are shown.

    References
    ----------
    [6] Belsley, Kuh & Welsch (1980); [7] Marquardt (1970).
    """
    x, _ = _design(frame, response, drivers, check_size=check_size)
    n, p = x.shape
    sd = x.std(axis=0)
    constant = [d for d, v in zip(drivers, sd, strict=True) if v == 0]
    keep = sd > 0
    vif = np.full(p, np.inf)
    if keep.sum() >= 1:
        corr = np.atleast_2d(np.corrcoef(x[:, keep], rowvar=False))
        with np.errstate(all="ignore"):
            try:
                inv = np.linalg.inv(corr)
                vif[keep] = np.where(np.isfinite(np.diag(inv)), np.diag(inv), np.inf)
            except np.linalg.LinAlgError:
                vif[keep] = np.inf
    vif = np.where(vif < 0, np.inf, vif)  # round-off of a singular matrix
    design = np.column_stack([np.ones(n), x])
    scaled = design / np.linalg.norm(design, axis=0)
    sv = np.linalg.svd(scaled, compute_uv=False)
    kappa = float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf
    per_driver = pd.DataFrame(
        {"driver": list(drivers), "vif": vif, "flag": (vif > VIF_LIMIT) | ~keep}
    )
    summary = {
        "n_obs": n,
        "n_coefficients": p + 1,
        "residual_df": n - p - 1,
        "condition_number": kappa,
        "condition_flag": bool(kappa > CONDITION_LIMIT),
        "sample_flag": bool(n < OBS_PER_COEFFICIENT * (p + 1)),
        "constant": constant,
    }
    return per_driver, summary
