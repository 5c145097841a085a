"""Scenario engine: baseline + measures -> yearly trajectories to 2060, vectorised Monte Carlo.

State: final energy ``E[d, s, c, y]`` [tce] for draws ``d``, sectors ``s``, carriers ``c``
(coal, oil, gas, electricity at the calorific equivalent 0.1229 kgce/kWh) and years ``y``.

- Baseline: ``E[s, c, y] = E[s, c, base] * prod_{t<=y} (1 + g_s(t) + u_s)`` with piecewise sector
  growth ``g_s`` (assumptions file) and a persistent per-draw deviation ``u_s ~ N(0, sd_s)``.
- Measures act on ``E`` with a linear ramp ``r(y) = clip((y - start) / (full - start), 0, 1)``:
  ``efficiency``  ``E[s] *= 1 - share r``;
  ``fuel_switch`` moves ``share r`` of carrier a to b times ``efficiency_ratio``;
  ``clean_power`` adds zero-carbon MWh that displace grid electricity (local generation,
  ``instrument: physical``) or, for purchased green power (``instrument: market``), that lower
  the market-based figures only: ``C_market = C - min(green, grid MWh) x EF_grid(y)``
  (GHG Protocol Scope 2 Guidance, ch. 6: contractual instruments change the market-based, not
  the location-based total);
  ``ccus`` captures ``min(capture r, max_share x emissions_s)``; ``sink`` adds removals: a
  fixed ``removal_tco2`` x r, or sink growth ``S0 x ((1 + growth)^(min(y, full) - start) - 1)``
  on the base-year sink ``S0`` (the accounted removals of the inventory, ``city_sinks``).
- Emissions: ``C[s, y] = sum_fossil E x EF_c + E_el / 0.1229 x EF_grid(y) x (1 - clean/total)``
  with the grid factor the city declares (``EF_grid(y) = EF_grid(base) x path(y) / path(base)``,
  a trajectory of ``grid_ef_trajectories.yaml``, :func:`grid_ef_path_tco2_per_mwh`) or, without
  one, ``EF_grid(y) = max(floor, EF_grid(base) x (1 - decline)^(y - base))``. Every measure that
  saves or adds electricity meets the same ``EF_grid(y)``.
- Net = gross (after CCUS) - sinks. Peak year = year of the maximum of gross emissions inside
  the horizon (none if the maximum is the last year).

Every uncertain parameter with a ``low``/``high`` range is drawn from a triangular distribution
(mode = central value); all draws are computed at once as arrays (draws x ... x years).

References
----------
[1] Heaps, C.G. (2022) LEAP: the Low Emissions Analysis Platform, Stockholm Environment
    Institute (accounting of final energy x emission factors by sector and carrier).
[2] IPCC (2006) Guidelines Vol. 1 Ch. 3 (uncertainty, Monte Carlo approach, section 3.2.3.2).
[3] Kaya (1990); Ang (2015) for the identity linking drivers and emissions.
[4] 国务院《2030年前碳达峰行动方案》(国发〔2021〕23号): peak by 2030; neutrality by 2060.
[5] WRI/WBCSD (2015) GHG Protocol Scope 2 Guidance, ch. 6 (location- and market-based methods).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.pathways.catalogue import CARRIERS, Measure, Param, baseline_assumptions

END_YEAR = 2060
FOSSIL = ("coal", "oil", "gas")
PERCENTILES = (5, 25, 50, 75, 95)


def tce_per_mwh() -> float:
    """Electricity at its calorific equivalent [tce/MWh] (GB/T 2589-2020, via citycarbon.units)."""
    return units.factor("MWh", "tce")


@dataclass
class ScenarioRun:
    """Arrays of one scenario run. ``d`` = draws (1 for a central run)."""

    name: str
    years: np.ndarray  # (y,)
    sectors: list[str]
    carriers: list[str]
    energy_tce: np.ndarray  # (d, s, c, y)
    emissions_tco2e: np.ndarray  # (d, s, y) after CCUS
    captured_tco2: np.ndarray  # (d, y)
    sinks_tco2e: np.ndarray  # (d, y)
    grid_ef_tco2_per_mwh: np.ndarray  # (d, y) effective, after clean power
    clean_mwh: np.ndarray  # (d, y)
    gdp: np.ndarray  # (d, y)
    population: np.ndarray  # (d, y)
    capacity: dict[str, np.ndarray] = field(default_factory=dict)  # measure -> (d, y)
    measures: list[Measure] = field(default_factory=list)
    clean_value_10k_cny: np.ndarray | None = None  # (d, y) value of clean generation
    seed: int | None = None
    market_reduction_tco2e: np.ndarray | None = None  # (d, y) purchased green power x EF_grid

    @property
    def gross_market(self) -> np.ndarray:
        """Market-based city emissions (d, y): gross less the grid emissions of the purchased
        green power (GHG Protocol Scope 2 Guidance, ch. 6)."""
        cut = 0.0 if self.market_reduction_tco2e is None else self.market_reduction_tco2e
        return self.gross - cut

    @property
    def net_market(self) -> np.ndarray:
        """Market-based net emissions after sinks (d, y)."""
        return self.gross_market - self.sinks_tco2e

    @property
    def gross(self) -> np.ndarray:
        """City emissions after CCUS, before sinks (d, y)."""
        return self.emissions_tco2e.sum(axis=1)

    @property
    def net(self) -> np.ndarray:
        """Net emissions after sinks (d, y)."""
        return self.gross - self.sinks_tco2e

    @property
    def draws(self) -> int:
        return self.energy_tce.shape[0]


def base_energy_from_emissions(
    emissions: pd.DataFrame, mix: pd.DataFrame, *, grid_ef_tco2_per_mwh: float
) -> pd.DataFrame:
    """Base-year final energy by sector and carrier consistent with sector emissions.

    ``E_s = C_s / sum_c m_s,c EF_c``, ``E_s,c = m_s,c E_s`` with energy shares ``m`` (the inverse
    of the emissions accounting ``C = sum E x EF``).

    Parameters
    ----------
    emissions : DataFrame   ``sector, emissions_tco2e`` of the base year
    mix : DataFrame         ``sector, carrier, share`` (shares of final energy, sum 1 per sector)
    grid_ef_tco2_per_mwh : float   grid factor of the base year

    Returns
    -------
    DataFrame ``sector, carrier, energy_tce``
    """
    ef = carrier_ef_tco2_per_tce(grid_ef_tco2_per_mwh)
    m = mix.pivot_table(index="sector", columns="carrier", values="share", aggfunc="sum")
    m = m.reindex(columns=list(CARRIERS), fill_value=0.0).fillna(0.0)
    e = emissions.set_index("sector")["emissions_tco2e"].astype(float)
    missing = sorted(set(e.index) - set(m.index))
    if missing:
        raise UnknownCodeError("sector without an energy mix", missing[0], m.index, field="sector")
    m = m.loc[e.index]
    per_tce = m.to_numpy() @ ef.reindex(list(CARRIERS)).to_numpy()
    energy = e.to_numpy() / per_tce
    out = pd.DataFrame(m.to_numpy() * energy[:, None], index=m.index, columns=m.columns)
    return out.stack().rename("energy_tce").reset_index()


def carrier_ef_tco2_per_tce(grid_ef_tco2_per_mwh: float) -> pd.Series:
    """CO2 per tce by carrier: fossil values from the assumptions file, electricity from grid_ef."""
    a = baseline_assumptions()["carriers"]
    ef = {c: float(a[c]["ef"]["value"]) for c in FOSSIL}
    ef["electricity"] = grid_ef_tco2_per_mwh / tce_per_mwh()
    return pd.Series(ef)


def grid_ef_path_tco2_per_mwh(
    points: dict, years: np.ndarray, *, base_ef_tco2_per_mwh: float
) -> np.ndarray:
    """The declared grid factor path scaled to the base-year factor of the inventory.

    ``EF(y) = EF_base x path(y) / path(years[0])``, ``path`` linear between the trajectory's
    points and constant beyond them.

    Parameters
    ----------
    points : dict         year -> grid factor of the trajectory [tCO2/MWh]
    years : array         model years, base year first
    base_ef_tco2_per_mwh : float   the inventory's grid factor of the base year [tCO2/MWh]

    References
    ----------
    [1] Heaps (2022) LEAP: exogenous emission factors of imported electricity by year.
    """
    ks = np.array(sorted(int(k) for k in points), dtype=float)
    vs = np.array([float(points[k] if k in points else points[str(int(k))]) for k in ks])
    path = np.interp(np.asarray(years, dtype=float), ks, vs)
    return base_ef_tco2_per_mwh * path / path[0]


def _sample(p: Param, n: int, rng: np.random.Generator) -> np.ndarray:
    """Central value (n == 0 -> one 'draw') or triangular(low, mode, high) draws."""
    if n == 0 or p.low is None or p.high is None or p.low == p.high:
        return np.full(max(n, 1), p.value)
    lo, hi = min(p.low, p.value), max(p.high, p.value)
    return rng.triangular(lo, p.value, hi, size=n)


def piecewise_rate(rates: dict, years: np.ndarray) -> np.ndarray:
    """Rate in force each year: the value of the latest key <= year (first key before that)."""
    keys = np.array(sorted(int(k) for k in rates))
    vals = np.array([float(rates[k] if k in rates else rates[str(k)]) for k in keys])
    idx = np.clip(np.searchsorted(keys, years, side="right") - 1, 0, len(keys) - 1)
    return vals[idx]


def ramp(years: np.ndarray, start_year: int, full_year: int) -> np.ndarray:
    """Linear deployment 0 -> 1 between start and full year (a step at start if equal)."""
    if full_year == start_year:
        return (years >= start_year).astype(float)
    return np.clip((years - start_year) / (full_year - start_year), 0.0, 1.0)


def sink_growth_tco2e(base_tco2e, growth_per_yr, years_grown):
    """Removals added by sink growth, tCO2e/yr: ``S0 x ((1 + g)^n - 1)``.

    Parameters
    ----------
    base_tco2e : array-like   base-year removals S0 [tCO2e/yr, positive]
    growth_per_yr : array-like   yearly growth of the sink g [1/yr]
    years_grown : array-like   years of growth n (0 before the measure starts) [yr]
    """
    return base_tco2e * ((1.0 + growth_per_yr) ** years_grown - 1.0)


def _growth_index(rates: np.ndarray, dev: np.ndarray) -> np.ndarray:
    """Cumulative index (d, ..., y) with value 1 in the base year (first column)."""
    g = 1.0 + rates + dev[..., None]
    g[..., 0] = 1.0
    return np.cumprod(g, axis=-1)


def simulate(
    base_energy: pd.DataFrame,
    measures: list[Measure],
    *,
    base_year: int,
    grid_ef_tco2_per_mwh: float,
    gdp: float,
    population: float,
    end_year: int = END_YEAR,
    draws: int = 0,
    seed: int = 0,
    name: str = "scenario",
    assumptions: dict | None = None,
    growth_override: pd.DataFrame | None = None,
    grid_ef_points: dict | None = None,
    sink_base_tco2e: float | None = None,
) -> ScenarioRun:
    """Run one scenario from the base year to ``end_year``.

    Parameters
    ----------
    base_energy : DataFrame
        ``sector, carrier, energy_tce`` in the base year (see :func:`base_energy_from_emissions`).
    measures : list of Measure
        Resolved measures (:func:`citycarbon.pathways.catalogue.resolve_measures`); empty list =
        baseline.
    base_year : int
    grid_ef_tco2_per_mwh : float
        Grid emission factor of the base year [tCO2/MWh].
    gdp, population : float
        Base-year GDP (comparable prices, any money unit) and population (any unit); carried to
        intensity indicators.
    end_year : int
    draws : int
        0 = one central run (modes of all distributions); n > 0 = n Monte Carlo draws.
    seed : int
        Seed of the draws (same seed, same results).
    assumptions : dict, optional
        Baseline assumptions (default: ``pathways/data/baseline.yaml``).
    growth_override : DataFrame, optional
        ``year, sector, growth``: yearly sector energy growth replacing the assumptions for those
        years (e.g. a statistical forecast for the near term, see
        :func:`citycarbon.pathways.forecast.growth_from_forecast`, or the activity baseline,
        :func:`citycarbon.pathways.activity.baseline_energy_growth`).
    grid_ef_points : dict, optional
        The declared grid factor trajectory (year -> tCO2/MWh, see
        :func:`grid_ef_path_tco2_per_mwh`); without it the assumed yearly decline (with its
        Monte Carlo range) applies.
    sink_base_tco2e : float, optional
        Removals of the base year [tCO2e/yr, positive]: the accounted sinks of the latest
        inventory year (``city_sinks``); without it the assumed ``sinks.baseline``.

    Returns
    -------
    ScenarioRun
    """
    a = assumptions or baseline_assumptions()
    if end_year <= base_year:
        raise InputError("end_year must be after base_year", value=(base_year, end_year))
    years = np.arange(base_year, end_year + 1)
    sectors = list(dict.fromkeys(base_energy["sector"]))
    unknown = [s for s in sectors if s not in a["sectors"]]
    if unknown:
        raise UnknownCodeError("sector", unknown[0], a["sectors"], field="sector")
    carriers = list(CARRIERS)
    bad = set(base_energy["carrier"]) - set(carriers)
    if bad:
        raise UnknownCodeError("carrier", sorted(bad)[0], carriers, field="carrier")
    e0 = (
        base_energy.pivot_table(
            index="sector", columns="carrier", values="energy_tce", aggfunc="sum"
        )
        .reindex(index=sectors, columns=carriers, fill_value=0.0)
        .fillna(0.0)
        .to_numpy()
    )
    rng = np.random.default_rng(seed)
    n = max(draws, 1)
    mc = draws > 0
    ns, ny = len(sectors), len(years)

    # baseline drivers: sector energy, GDP, population (persistent deviations per draw)
    rates = np.stack([piecewise_rate(a["sectors"][s]["growth"], years) for s in sectors])  # (s, y)
    if growth_override is not None and not growth_override.empty:
        rates = _override_rates(rates, growth_override, sectors, years)
    sd = np.array([float(a["sectors"][s].get("growth_sd", 0.0)) for s in sectors])
    dev = rng.normal(0.0, sd, size=(n, ns)) if mc else np.zeros((1, ns))
    index = _growth_index(np.broadcast_to(rates, (n, ns, ny)).copy(), dev)  # (d, s, y)
    energy = e0[None, :, :, None] * index[:, :, None, :]  # (d, s, c, y)

    drv = a["drivers"]
    gdp_dev = rng.normal(0, drv["gdp_growth"].get("sd", 0.0), n) if mc else np.zeros(1)
    pop_dev = rng.normal(0, drv["population_growth"].get("sd", 0.0), n) if mc else np.zeros(1)
    gdp_path = gdp * _growth_index(
        np.broadcast_to(piecewise_rate(drv["gdp_growth"]["value"], years), (n, ny)).copy(), gdp_dev
    )
    pop_path = population * _growth_index(
        np.broadcast_to(piecewise_rate(drv["population_growth"]["value"], years), (n, ny)).copy(),
        pop_dev,
    )

    grid = a["grid"]
    if grid_ef_points is not None:
        path = grid_ef_path_tco2_per_mwh(
            grid_ef_points, years, base_ef_tco2_per_mwh=grid_ef_tco2_per_mwh
        )
        ef_grid = np.broadcast_to(path, (n, ny)).copy()
    else:
        decline = _sample(_param(grid["ef_decline"]), draws, rng)  # (n,)
        ef_grid = np.maximum(
            float(grid["ef_floor"]["value"]),
            grid_ef_tco2_per_mwh * (1.0 - decline[:, None]) ** (years - base_year)[None, :],
        )
    sink0 = (
        _sample(_param(a["sinks"]["baseline"]), draws, rng)
        if sink_base_tco2e is None
        else np.full(n, float(sink_base_tco2e))
    )  # (n,)
    sinks = np.broadcast_to(sink0[:, None], (n, ny)).copy()

    s_index = {s: i for i, s in enumerate(sectors)}
    c_index = {c: i for i, c in enumerate(carriers)}
    clean = np.zeros((n, ny))
    green = np.zeros((n, ny))  # purchased green power (market instruments) [MWh]
    clean_value = np.zeros((n, ny))
    capacity: dict[str, np.ndarray] = {}
    ccus: list[tuple[Measure, np.ndarray, np.ndarray, np.ndarray]] = []
    for m in measures:  # a loop over a dozen measures; each step is vectorised over draws x years
        r = ramp(years, m.start_year, m.full_year)[None, :]  # (1, y)
        if m.kind in ("efficiency", "fuel_switch", "ccus"):
            if m.sector not in s_index:
                raise UnknownCodeError(
                    f"sector of measure {m.id}", m.sector, sectors, field="sector"
                )
            si = s_index[m.sector]
        if m.kind == "efficiency":
            share = _sample(m.p("share"), draws, rng)[:, None] * r  # (n, y)
            before = energy[:, si].sum(axis=1)
            energy[:, si] *= 1.0 - share[:, None, :]
            capacity[m.id] = before - energy[:, si].sum(axis=1)
        elif m.kind == "fuel_switch":
            ai, bi = c_index[m.from_carrier], c_index[m.to_carrier]
            share = _sample(m.p("share"), draws, rng)[:, None] * r
            ratio = _sample(m.p("efficiency_ratio", 1.0), draws, rng)[:, None]
            moved = energy[:, si, ai] * share
            energy[:, si, ai] -= moved
            energy[:, si, bi] += moved * ratio
            capacity[m.id] = moved
        elif m.kind == "clean_power":
            if "capacity_mw" in m.params:
                mw = _sample(m.p("capacity_mw"), draws, rng)[:, None] * r
                hours = _sample(m.p("full_load_hours"), draws, rng)[:, None]
                mwh = mw * hours
                capacity[m.id] = mw
            else:
                mwh = _sample(m.p("energy_mwh"), draws, rng)[:, None] * r
                capacity[m.id] = mwh
            if m.instrument == "market":
                green += mwh
            else:
                clean += mwh
            clean_value += mwh * m.p("value_cny_per_mwh", 0.0).value * 1e-4
        elif m.kind == "ccus":
            cap = _sample(m.p("capture_tco2"), draws, rng)[:, None] * r
            share = _sample(m.p("max_share", 1.0), draws, rng)[:, None]
            ccus.append((m, cap, share, np.array(si)))
        elif m.kind == "sink":
            if "growth" in m.params:
                grown = np.clip(years, m.start_year, m.full_year) - m.start_year  # (y,)
                rate = _sample(m.p("growth"), draws, rng)[:, None]
                removal = sink_growth_tco2e(sink0[:, None], rate, grown[None, :])
            else:
                removal = _sample(m.p("removal_tco2"), draws, rng)[:, None] * r
            sinks += removal
            capacity[m.id] = removal

    el = c_index["electricity"]
    el_mwh = energy[:, :, el].sum(axis=1) / tce_per_mwh()  # (n, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        clean_frac = np.where(el_mwh > 0, np.clip(clean / el_mwh, 0.0, 1.0), 0.0)
    ef_eff = ef_grid * (1.0 - clean_frac)
    market_cut = np.minimum(green, el_mwh * (1.0 - clean_frac)) * ef_grid
    ef_c = carrier_ef_tco2_per_tce(1.0)
    fossil = np.array([ef_c[c] for c in carriers[:el]] + [0.0] * (len(carriers) - el))
    emissions = np.einsum("dscy,c->dsy", energy, fossil)
    emissions += energy[:, :, el, :] / tce_per_mwh() * ef_eff[:, None, :]
    captured = np.zeros((n, ny))
    for m, cap, share, si in ccus:
        take = np.minimum(cap, share * emissions[:, int(si)])
        emissions[:, int(si)] -= take
        captured += take
        capacity[m.id] = take
    return ScenarioRun(
        name=name,
        years=years,
        sectors=sectors,
        carriers=carriers,
        energy_tce=energy,
        emissions_tco2e=emissions,
        captured_tco2=captured,
        sinks_tco2e=sinks,
        grid_ef_tco2_per_mwh=ef_eff,
        clean_mwh=clean,
        gdp=gdp_path,
        population=pop_path,
        capacity=capacity,
        measures=list(measures),
        clean_value_10k_cny=clean_value,
        seed=seed if mc else None,
        market_reduction_tco2e=market_cut,
    )


def _override_rates(
    rates: np.ndarray, override: pd.DataFrame, sectors: list[str], years: np.ndarray
) -> np.ndarray:
    missing = {"year", "sector", "growth"} - set(override.columns)
    if missing:
        raise InputError(f"growth_override lacks {sorted(missing)}", field="growth_override")
    unknown = sorted(set(override["sector"]) - set(sectors))
    if unknown:
        raise UnknownCodeError("sector of growth_override", unknown[0], sectors, field="sector")
    out = rates.copy()
    o = override[override["year"].isin(years)]
    si = o["sector"].map({s: i for i, s in enumerate(sectors)}).to_numpy()
    yi = (o["year"].to_numpy() - years[0]).astype(int)
    out[si, yi] = o["growth"].to_numpy(dtype=float)
    return out


def _param(spec: dict) -> Param:
    return Param(
        float(spec["value"]),
        None if spec.get("low") is None else float(spec["low"]),
        None if spec.get("high") is None else float(spec["high"]),
        spec.get("unit", ""),
        spec.get("source", ""),
    )


# --------------------------------------------------------------------------- indicators
def peak(years, values) -> tuple[np.ndarray, np.ndarray]:
    """Peak year and peak value along the last axis (vectorised over leading axes).

    The peak is the first year of the maximum. A maximum in the last year of the horizon is not
    a peak (emissions may still rise): its year is NaN.

    Returns
    -------
    (peak_year, peak_value) arrays of the leading shape (float years, NaN = not peaked).
    """
    years = np.asarray(years)
    v = np.asarray(values, dtype=float)
    i = np.argmax(v, axis=-1)
    value = np.take_along_axis(v, i[..., None], axis=-1)[..., 0]
    year = np.where(i == v.shape[-1] - 1, np.nan, years[i].astype(float))
    return year, value


def probability_of_peak_by(run: ScenarioRun, year: int = 2030) -> float:
    """Share of draws whose gross emissions peak in or before ``year``."""
    peak_year, _ = peak(run.years, run.gross)
    return float(np.mean(np.nan_to_num(peak_year, nan=np.inf) <= year))


def neutrality_balance(run: ScenarioRun) -> pd.DataFrame:
    """Per year: gross emissions (after CCUS), removals (negative), net and the gap to
    neutrality, tCO2e (each the median over draws, so with draws the net is the median net,
    not the sum of the other two medians).

    net = gross + removals; gap = max(net, 0): what is left to avoid or remove for carbon
    neutrality (removals are counted once, as in :func:`citycarbon.accounting.sinks.net_emissions`).
    """
    net = np.median(run.net, 0)
    out = pd.DataFrame(
        {
            "year": run.years,
            "gross_tco2e": np.median(run.gross, 0),
            "removals_tco2e": -np.median(run.sinks_tco2e, 0),
            "net_tco2e": net,
            "neutrality_gap_tco2e": np.maximum(net, 0.0),
        }
    )
    out.insert(0, "scenario", run.name)
    return out


def trajectory(run: ScenarioRun, *, statistic: str = "median") -> pd.DataFrame:
    """Yearly emissions by sector plus ``total`` (after CCUS), ``sinks`` and ``net`` (long form).

    ``statistic``: ``median`` or ``mean`` over draws (a central run has one draw).
    """
    agg = np.median if statistic == "median" else np.mean
    rows = [
        pd.DataFrame(
            {"year": run.years, "sector": s, "emissions_tco2e": agg(run.emissions_tco2e[:, i], 0)}
        )
        for i, s in enumerate(run.sectors)
    ]
    for name, arr in (("total", run.gross), ("sinks", -run.sinks_tco2e), ("net", run.net)):
        rows.append(
            pd.DataFrame({"year": run.years, "sector": name, "emissions_tco2e": agg(arr, 0)})
        )
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "scenario", run.name)
    return out


def energy_table(run: ScenarioRun) -> pd.DataFrame:
    """Median final energy by year, sector and carrier [tce] (long form)."""
    med = np.median(run.energy_tce, axis=0)  # (s, c, y)
    s, c, y = np.meshgrid(
        np.arange(len(run.sectors)),
        np.arange(len(run.carriers)),
        np.arange(len(run.years)),
        indexing="ij",
    )
    return pd.DataFrame(
        {
            "scenario": run.name,
            "year": run.years[y.ravel()],
            "sector": np.array(run.sectors)[s.ravel()],
            "carrier": np.array(run.carriers)[c.ravel()],
            "energy_tce": med.ravel(),
        }
    )


def fan_chart(run: ScenarioRun, *, series: str = "gross", percentiles=PERCENTILES) -> pd.DataFrame:
    """Percentiles over draws per year (fan chart table): ``year, p5, p25, p50, p75, p95``."""
    arr = {"gross": run.gross, "net": run.net}[series]
    q = np.percentile(arr, percentiles, axis=0)  # (p, y)
    out = pd.DataFrame({"year": run.years})
    for p, row in zip(percentiles, q, strict=True):
        out[f"p{p}"] = row
    out.insert(0, "series", series)
    out.insert(0, "scenario", run.name)
    return out


def intensity_check(run: ScenarioRun, targets: list[dict] | None = None) -> pd.DataFrame:
    """Carbon-intensity targets (CO2 per GDP) met or missed.

    Each target: ``base_year, year, reduction`` (required fractional decline of gross emissions
    per unit GDP from ``base_year`` to ``year``). Returns one row per target with the median
    achieved reduction and the probability (share of draws) that it is met.
    """
    targets = baseline_assumptions()["targets"] if targets is None else targets
    intensity = run.gross / run.gdp
    rows = []
    for t in targets:  # a handful of targets
        if not (run.years[0] <= t["base_year"] and t["year"] <= run.years[-1]):
            continue
        i0 = int(t["base_year"] - run.years[0])
        i1 = int(t["year"] - run.years[0])
        achieved = 1.0 - intensity[:, i1] / intensity[:, i0]
        rows.append(
            {
                "indicator": t.get("indicator", "co2_intensity"),
                "base_year": t["base_year"],
                "year": t["year"],
                "required_reduction": t["reduction"],
                "achieved_reduction": float(np.median(achieved)),
                "probability_met": float(np.mean(achieved >= t["reduction"])),
                "met": bool(np.median(achieved) >= t["reduction"]),
                "source": t.get("source", ""),
            }
        )
    return pd.DataFrame(rows)


def summary(run: ScenarioRun, *, peak_by: int = 2030, neutral_year: int = END_YEAR) -> dict:
    """Headline figures: peak year and value, probability of peaking by ``peak_by``, gross and
    net emissions in ``neutral_year`` and the distance to neutrality (net > 0 means short)."""
    py, pv = peak(run.years, run.gross)
    i = int(min(neutral_year, run.years[-1]) - run.years[0])
    net = run.net[:, i]
    med_year, med_val = peak(run.years, np.median(run.gross, axis=0))
    return {
        "scenario": run.name,
        "draws": run.draws if run.seed is not None else 0,
        "peak_year": None if np.isnan(med_year) else int(med_year),
        "peak_value_tco2e": float(med_val),
        "peak_year_p5": None if np.all(np.isnan(py)) else float(np.nanpercentile(py, 5)),
        "peak_year_p95": None if np.all(np.isnan(py)) else float(np.nanpercentile(py, 95)),
        "probability_peak_by": float(np.mean(np.nan_to_num(py, nan=np.inf) <= peak_by)),
        "peak_by": peak_by,
        "base_year_tco2e": float(np.median(run.gross[:, 0])),
        "gross_end_tco2e": float(np.median(run.gross[:, i])),
        "sinks_end_tco2e": float(np.median(run.sinks_tco2e[:, i])),
        "net_end_tco2e": float(np.median(net)),
        "neutrality_gap_tco2e": float(max(np.median(net), 0.0)),
        "probability_neutral": float(np.mean(net <= 0)),
        "neutral_year": int(run.years[i]),
        "peak_value_mean_tco2e": float(pv.mean()),
    }


def sector_peaks(run: ScenarioRun) -> pd.DataFrame:
    """Peak year and value of each sector's median trajectory (NaN year = still rising)."""
    med = np.median(run.emissions_tco2e, axis=0)  # (s, y)
    year, value = peak(run.years, med)
    return pd.DataFrame(
        {
            "scenario": run.name,
            "sector": run.sectors,
            "peak_year": year,
            "peak_value_tco2e": value,
            "base_year_tco2e": med[:, 0],
            "end_year_tco2e": med[:, -1],
        }
    )


def compare(runs: list[ScenarioRun], **kw) -> pd.DataFrame:
    """Side-by-side headline figures of several runs (one row per scenario)."""
    return pd.DataFrame([summary(r, **kw) for r in runs]).set_index("scenario")


def chart_data(runs: list[ScenarioRun], *, fan_of: str | None = None) -> dict:
    """A JSON-ready structure for charts: years, per-scenario total/net lines, sector stacks of the
    first run, the fan (percentiles) of ``fan_of`` and peak markers."""
    first = runs[0]
    out: dict = {"years": first.years.tolist(), "unit": "tCO2e", "scenarios": [], "fan": None}
    for r in runs:
        py, pv = peak(r.years, np.median(r.gross, axis=0))
        out["scenarios"].append(
            {
                "name": r.name,
                "total": np.median(r.gross, axis=0).round(1).tolist(),
                "net": np.median(r.net, axis=0).round(1).tolist(),
                "peak": {"year": None if np.isnan(py) else int(py), "value": round(float(pv), 1)},
            }
        )
    out["sectors"] = {
        s: np.median(first.emissions_tco2e[:, i], axis=0).round(1).tolist()
        for i, s in enumerate(first.sectors)
    }
    target = next((r for r in runs if r.name == fan_of), None) if fan_of else None
    target = target or next((r for r in runs if r.seed is not None), None)
    if target is not None:
        fan = fan_chart(target)
        out["fan"] = {
            "scenario": target.name,
            **{c: fan[c].round(1).tolist() for c in fan.columns if c.startswith("p")},
        }
    return out
