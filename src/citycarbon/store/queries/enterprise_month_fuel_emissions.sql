-- title: Energy (tce) and CO2 by enterprise and month from the 205-1 fuel returns (企业月度能耗与碳排放)
-- method: enterprise_fuel_query
-- requires: current_energy_monthly, fuel_factors, factor_values
-- zero: rows_missing_factors
--
-- Quantities of energy_monthly are in each fuel's statistical unit (t, 10^4 m3, 10^4 kWh, GJ);
-- fuel_factors holds every factor per that unit (converted by citycarbon.units when registered):
--   energy_tce        = consumed_total x tce_per_stat_unit               (all fuels, calorific basis)
--   CO2 of fuel burnt = (consumed_total - consumed_as_feedstock) x ncv_gj_per_stat_unit
--                       x carbon_content_tc_per_gj x oxidation x 44/12   (co2_method 'guideline')
--                     or x co2_ef_tco2_per_gj                            (co2_method 'tier1');
--                       feedstock is carbon kept in products, subtracted where reported;
--                       fossil fuels count in combustion_co2_t (scope 1), biomass in
--                       biogenic_co2_t (a memo item, IPCC 2006 Vol. 2, 2.3.3.4)
--   electricity_co2_t = consumed_total x gj_per_stat_unit x grid_ef [tCO2/GJ] of the data year
--   heat_co2_t        = consumed_total x gj_per_stat_unit x heat_ef [tCO2/GJ] of the data year
-- Scope 2 is counted on consumption (205-1 has no 外供 column to net purchases against).
-- 44/12 is the ratio of the molar masses of CO2 and C; written as DOUBLE literals because Spark
-- reads 44.0 as DECIMAL and would round the quotient to 6 decimals.
-- A fuel without the factors it needs counts in rows_missing_factors (run_query refuses > 0).
WITH rows AS (
    SELECT e.enterprise_code,
           e.period,
           e.year,
           e.month,
           e.fuel,
           f.fossil,
           e.consumed_total * f.tce_per_stat_unit AS energy_tce,
           CASE WHEN f.combustion THEN
               (e.consumed_total - CASE WHEN e.consumed_as_feedstock IS NULL
                                          OR isnan(e.consumed_as_feedstock) THEN 0E0
                                        ELSE e.consumed_as_feedstock END)
               * f.ncv_gj_per_stat_unit
               * CASE f.co2_method
                     WHEN 'guideline'
                         THEN f.carbon_content_tc_per_gj * f.oxidation * (44E0 / 12E0)
                     WHEN 'tier1' THEN f.co2_ef_tco2_per_gj
                 END
           ELSE 0E0 END AS burnt_co2_t,
           CASE WHEN f.scope2_parameter = 'grid_ef'
                THEN e.consumed_total * f.gj_per_stat_unit * s2.value_base ELSE 0E0 END
               AS electricity_co2_t,
           CASE WHEN f.scope2_parameter = 'heat_ef'
                THEN e.consumed_total * f.gj_per_stat_unit * s2.value_base ELSE 0E0 END
               AS heat_co2_t,
           CASE WHEN f.fuel IS NULL
                  OR e.unit <> f.stat_unit
                  OR f.tce_per_stat_unit IS NULL
                  OR (f.combustion AND (f.ncv_gj_per_stat_unit IS NULL OR f.co2_method IS NULL))
                  OR (f.scope2_parameter IS NOT NULL AND s2.value_base IS NULL)
                THEN 1 ELSE 0 END AS missing_factor
    FROM current_energy_monthly e
    LEFT JOIN fuel_factors f ON f.fuel = e.fuel
    LEFT JOIN factor_values s2
           ON s2.parameter = f.scope2_parameter AND s2.key = f.scope2_key
          AND s2.context = '' AND s2.year = e.year
),
result AS (
    SELECT enterprise_code,
           period,
           year,
           month,
           COUNT(*) AS fuels,
           SUM(energy_tce) AS energy_tce,
           SUM(CASE WHEN fossil THEN burnt_co2_t ELSE 0E0 END) AS combustion_co2_t,
           SUM(electricity_co2_t) AS electricity_co2_t,
           SUM(heat_co2_t) AS heat_co2_t,
           SUM(CASE WHEN fossil THEN burnt_co2_t ELSE 0E0 END) AS scope1_co2_t,
           SUM(electricity_co2_t + heat_co2_t) AS scope2_co2_t,
           SUM(CASE WHEN fossil THEN burnt_co2_t ELSE 0E0 END
               + electricity_co2_t + heat_co2_t) AS co2_t,
           SUM(CASE WHEN fossil THEN 0E0 ELSE burnt_co2_t END) AS biogenic_co2_t,
           SUM(missing_factor) AS rows_missing_factors
    FROM rows
    GROUP BY enterprise_code, period, year, month
)
SELECT * FROM result
ORDER BY enterprise_code, period
