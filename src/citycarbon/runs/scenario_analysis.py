"""Scenario analyses computed on request for the 情景分析 page and its API: stored scenarios
run (Monte Carlo with the user's draws and seed), compared, and their marginal abatement cost
curve (netted or standalone), co-benefits, socio-economic estimates, the LMDI decomposition and
STIRPAT diagnostics of the city history, the activity baseline's calibration and the
least-cost pathway (linear programme) of a scenario's measures.

The face checks the role (``read_city``, ``edit_scenarios`` in :mod:`citycarbon.read.access`)
before calling these functions. The city history and the scenario runs are cached while their
inputs (results generation, committed statistics, scenario versions, draws, seed) do not change.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd

from citycarbon.errors import InputError
from citycarbon.pathways import catalogue as cat
from citycarbon.pathways import cobenefits as cb
from citycarbon.pathways import economics as ec
from citycarbon.pathways import macc as mc
from citycarbon.pathways import scenario as sc
from citycarbon.runs import scenarios as ds
from citycarbon.store import catalog, results
from citycarbon.store import targets as targets_store

MAX_DRAWS = 2000
MACC_COLUMNS = [
    "id",
    "zh",
    "en",
    "kind",
    "abatement_tco2e",
    "cost_cny_per_tco2e",
    "x0_tco2e",
    "x1_tco2e",
]
_lock = threading.RLock()
_history_cache: dict[tuple, ds.CityHistory] = {}
_run_cache: dict[tuple, dict[str, Any]] = {}


def _history_key() -> tuple:
    # the committed statistics and yearbook-series files (a retracted batch leaves the list, its
    # file stays on disk)
    return (
        results.generation(),
        tuple(catalog.committed_files("city_statistics")),
        tuple(catalog.committed_files("yearbook_series")),
    )


def city_history() -> ds.CityHistory:
    """The pathways model's city history (cached while the inputs do not change)."""
    key = _history_key()
    with _lock:
        if key in _history_cache:
            return _history_cache[key]
    h = ds.city_history()
    with _lock:
        _history_cache.clear()
        _history_cache[key] = h
    return h


HISTORY_COLUMNS = [
    "year",
    "emissions_tco2e",
    "energy_tce",
    "gdp",
    "gdp_price_basis",
    "population",
]


def history() -> pd.DataFrame:
    """The city history the scenarios start from, by year: emissions (the city inventory's
    total, basis incl. net imported electricity) [tCO2e], energy consumption (the inventory's
    indicator ``energy_consumption_tce``, coal-equivalent basis) [tce] — the 清单 page's
    figures — and GDP [10^8 CNY, its price basis] and population [10^4 persons]
    (``city_statistics``)."""
    return city_history().drivers[HISTORY_COLUMNS].sort_values("year").reset_index(drop=True)


def run_scenarios(names: list[str], *, draws: int = 0, seed: int = 0) -> dict[str, Any]:
    """Run stored scenarios (cached by name, version, draws and seed): the runs, the baseline
    and the history."""
    if not 0 <= draws <= MAX_DRAWS:
        raise InputError(f"draws must be 0-{MAX_DRAWS}", field="draws", value=draws)
    history = city_history()
    versions = tuple((n, ds.load_scenario(n)["version"]) for n in names)
    key = (_history_key(), versions, int(draws), int(seed))
    with _lock:
        if key in _run_cache:
            return _run_cache[key]
    runs, baseline, _ = ds.run_scenarios(list(names), draws=draws, seed=seed, history=history)
    out = {"runs": runs, "baseline": baseline, "history": history}
    with _lock:
        if len(_run_cache) > 32:
            _run_cache.clear()
        _run_cache[key] = out
    return out


#: The target indicator of 目标与预警 the scenarios' CO2-intensity check reads.
CO2_INTENSITY = "co2_intensity_t_per_10k_cny"


def city_intensity_targets() -> list[dict] | None:
    """The city's CO2-intensity targets as 目标与预警 holds them (current versions in the
    catalog): base year, end year, required decline (``target_value`` % → fraction) and the
    target code as source. None when the catalog holds none (the check then uses the
    baseline's assumed targets, ``pathways/data/baseline.yaml``)."""
    t = targets_store.targets_frame()
    t = t[(t["level"] == "city") & (t["kind"] == "intensity") & (t["indicator"] == CO2_INTENSITY)]
    if t.empty:
        return None
    return [
        {
            "indicator": "co2_intensity",
            "base_year": int(r.base_year),
            "year": int(r.end_year),
            "reduction": float(r.target_value) / 100.0,
            "source": str(r.code),
        }
        for r in t.sort_values("base_year").itertuples()
    ]


def neutrality(names: list[str], *, draws: int = 0, seed: int = 0) -> pd.DataFrame:
    """Gross emissions, removals, net and the gap to neutrality per year of each scenario;
    the removals start from the accounted sinks of the latest inventory year (``city_sinks``)."""
    got = run_scenarios(names, draws=draws, seed=seed)
    return pd.concat([sc.neutrality_balance(r) for r in got["runs"]], ignore_index=True)


def compare(names: list[str], *, draws: int = 0, seed: int = 0) -> pd.DataFrame:
    """Headline figures side by side (one row a scenario) with the city's CO2-intensity
    targets of 目标与预警 met (✓) or missed (✗), each named by its target code."""
    got = run_scenarios(names, draws=draws, seed=seed)
    targets = city_intensity_targets()
    rows = []
    for run in got["runs"]:  # a few scenarios
        s = sc.summary(run)
        ic = sc.intensity_check(run, targets)
        s["intensity_targets"] = len(ic)
        s["intensity_targets_met"] = int(ic["met"].sum()) if len(ic) else 0
        s["intensity_checks"] = "; ".join(
            f"{r.source} {r.base_year}-{r.year} ≥{r.required_reduction:.0%}: "
            f"{r.achieved_reduction:.1%} {'✓' if r.met else '✗'}"
            for r in ic.itertuples()
        )
        rows.append(s)
    return pd.DataFrame(rows)


def trajectories(names: list[str], *, draws: int = 0, seed: int = 0) -> pd.DataFrame:
    """Yearly emissions by sector, total, sinks and net of each scenario (long form)."""
    got = run_scenarios(names, draws=draws, seed=seed)
    return pd.concat([sc.trajectory(r) for r in got["runs"]], ignore_index=True)


def fan(name: str, *, draws: int = 500, seed: int = 0) -> pd.DataFrame:
    """Percentile bands (p5 ... p95) of the gross emissions of one scenario over draws."""
    got = run_scenarios([name], draws=max(int(draws), 50), seed=seed)
    return sc.fan_chart(got["runs"][0])


def macc(
    name: str, year: int = 2040, *, method: str = "netted", basis: str = "location"
) -> pd.DataFrame:
    """Marginal abatement cost curve of a scenario's measures in ``year``: ``netted`` (merit
    order, interactions counted, Kesicki & Ekins 2012) or ``standalone``; abatement on the
    ``location`` or ``market`` basis."""
    if method not in ("netted", "standalone"):
        raise InputError("method must be netted or standalone", field="method", value=method)
    got = run_scenarios([], draws=0)
    measures = cat.resolve_measures(ds.load_scenario(name)["measures"])
    if not measures:
        return pd.DataFrame(columns=MACC_COLUMNS)
    h = got["history"]
    curve = mc.macc_netted if method == "netted" else mc.macc
    return curve(got["baseline"], measures, year=int(year), basis=basis, **h.model_inputs())


def activity_baseline() -> dict[str, pd.DataFrame]:
    """The baseline by driver: calibration per sector (driver, intensity, trend, fit to the
    inventory), the backcast of the history and the projection to 2060
    (:func:`citycarbon.runs.scenarios.activity_baseline`)."""
    return ds.activity_baseline(city_history())


def grid_trajectory() -> pd.DataFrame:
    """The grid factor the scenarios use, by year [tCO2/MWh] (the declared trajectory scaled
    to the inventory's base-year factor), with the trajectory's name."""
    h = city_history()
    got = run_scenarios([], draws=0)
    base = got["baseline"]
    return pd.DataFrame(
        {
            "year": base.years,
            "grid_ef_tco2_per_mwh": base.grid_ef_tco2_per_mwh[0],
            "trajectory": h.grid_ef_trajectory,
        }
    )


def grid_trajectory_spec() -> dict:
    """The declared grid factor trajectory of the city (name, zh, en, unit, source, year,
    note, points)."""
    h = city_history()
    return {"name": h.grid_ef_trajectory, **cat.grid_ef_trajectory(h.grid_ef_trajectory)}


def stirpat() -> dict[str, Any]:
    """STIRPAT of the city history on non-Kaya drivers with its diagnostics
    (:func:`citycarbon.runs.scenarios.history_stirpat`)."""
    return ds.history_stirpat(city_history(), n_boot=500)


def least_cost(
    name: str,
    *,
    cap_year: int | None = None,
    cap_tco2e: float | None = None,
    intensity: bool = True,
    year: int = 2035,
) -> dict[str, Any]:
    """Least-cost deployment of a scenario's measures meeting a CO2 cap (``cap_year``,
    ``cap_tco2e``) and/or the city's CO2-intensity targets (目标与预警, else the baseline's
    assumed ones); a linear programme solved by HiGHS."""
    measures = cat.resolve_measures(ds.load_scenario(name)["measures"])
    caps = {int(cap_year): float(cap_tco2e)} if cap_year and cap_tco2e is not None else None
    targets = None
    if intensity:
        targets = city_intensity_targets() or cat.baseline_assumptions()["targets"]
    return ds.least_cost_pathway(
        city_history(), measures, caps=caps, intensity_targets=targets, year=int(year)
    )


def cobenefits(name: str, year: int = 2030) -> pd.DataFrame:
    """Air-pollutant and CO2 changes of a scenario against the baseline in ``year``."""
    got = run_scenarios([name], draws=0)
    return cb.cobenefits(got["runs"][0], got["baseline"], year=int(year))


def economics(name: str) -> pd.DataFrame:
    """Socio-economic estimates (估算) of a scenario vs the baseline, totals to 2060 (empty for
    a scenario without measures)."""
    got = run_scenarios([name], draws=0)
    run = got["runs"][0]
    if not run.measures:
        return pd.DataFrame(columns=["item", "value"])
    s = ec.economics_summary(ec.economics(run, got["baseline"]))
    return s.rename_axis("item").reset_index(name="value")


def decomposition(method: str = "additive") -> pd.DataFrame:
    """LMDI-I Kaya decomposition of the city history, year on year."""
    if method not in ("additive", "multiplicative"):
        raise InputError("method must be additive or multiplicative", field="method", value=method)
    return ds.history_decomposition(city_history(), method=method)


def measure_catalogue() -> pd.DataFrame:
    """The measure catalogue (parameters with ranges, units and sources)."""
    return cat.measure_catalogue()


def save_scenario(
    name: str,
    measures: list[dict],
    *,
    created_by: str,
    title_zh: str | None = None,
    description: str | None = None,
) -> dict:
    """Save a new scenario version (audited by the catalog); the stored row without settings."""
    row = ds.save_scenario(
        name, measures, title_zh=title_zh, description=description, created_by=created_by
    )
    return {k: v for k, v in row.items() if k != "settings"}
