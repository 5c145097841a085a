-- Gaps that would turn into missing tce or CO2: fuels not in the fuel list, quantities not in the
-- fuel's statistical unit, fuels without the factors they need (or with factors in a unit that
-- cannot be expressed per the statistical unit), data years without a scope-2 factor.
-- One row per gap; empty when all is well.
SELECT 'current_energy_monthly' AS source, missing, key, year, COUNT(*) AS rows_affected
FROM (
    SELECT e.year, e.fuel AS key,
           CASE WHEN f.fuel IS NULL THEN 'fuel (not in fuels.csv)'
                WHEN e.unit <> f.stat_unit THEN 'unit (expected ' || f.stat_unit || ')'
                WHEN f.factor_problem IS NOT NULL
                     AND (f.tce_per_stat_unit IS NULL
                          OR (f.combustion AND f.ncv_gj_per_stat_unit IS NULL))
                     THEN f.factor_problem
                WHEN f.tce_per_stat_unit IS NULL THEN 'coal_equivalent'
                WHEN f.combustion AND f.ncv_gj_per_stat_unit IS NULL THEN 'ncv'
                WHEN f.combustion AND f.co2_method IS NULL
                     THEN COALESCE(f.co2_problem,
                                   'carbon_content and oxidation, or co2_ef of ' || f.ipcc_fuel)
                WHEN f.scope2_parameter IS NOT NULL AND s2.value_base IS NULL
                     THEN f.scope2_parameter || ' [' || f.scope2_key || ']'
           END AS missing
    FROM current_energy_monthly e
    LEFT JOIN fuel_factors f ON f.fuel = e.fuel
    LEFT JOIN factor_values s2
           ON s2.parameter = f.scope2_parameter AND s2.key = f.scope2_key
          AND s2.context = '' AND s2.year = e.year
) g
WHERE missing IS NOT NULL
GROUP BY missing, key, year
ORDER BY missing, key, year
