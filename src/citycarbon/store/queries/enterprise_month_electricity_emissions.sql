-- title: Metered electricity and its location-based CO2, per enterprise and month (企业月度用电碳排放)
-- method: enterprise_electricity_query
-- requires: current_meter_readings, meters, factor_values, factor_choice, unit_factors
-- not_null: enterprise_code, co2_t
--
-- Readings are summed per meter and month first (10^4 meters, not 10^8 readings, meet the join),
-- then per enterprise. The grid factor is the profile's grid_ef of the city's grid region for the
-- data year (factor_values holds, per year, the latest value published for a year <= it).
-- Readings of a meter missing from the registry keep enterprise_code NULL and a year without a
-- grid factor keeps co2_t NULL: run_query refuses such results and lists the gaps (.check.sql).
-- Portable SQL: runs unchanged on DuckDB and Spark.
WITH per_meter AS (
    SELECT meter_id, year, month, SUM(kwh) AS kwh, COUNT(*) AS readings
    FROM current_meter_readings
    GROUP BY meter_id, year, month
),
per_enterprise AS (
    SELECT m.enterprise_code, p.year, p.month,
           SUM(p.kwh) AS electricity_kwh,
           COUNT(DISTINCT p.meter_id) AS meters,
           SUM(p.readings) AS readings
    FROM per_meter p
    LEFT JOIN meters m ON m.meter_id = p.meter_id
    GROUP BY m.enterprise_code, p.year, p.month
),
u AS (
    SELECT MAX(CASE WHEN symbol = 'kWh' THEN to_base END) AS gj_per_kwh,
           MAX(CASE WHEN symbol = 'MWh' THEN to_base END) AS gj_per_mwh
    FROM unit_factors
),
grid AS (
    SELECT f.year, f.value_base AS grid_ef_tco2_per_gj, f.source_year AS grid_ef_year
    FROM factor_values f
    JOIN factor_choice c ON f.key = c.grid_region
    WHERE f.parameter = 'grid_ef' AND f.context = ''
),
result AS (
    SELECT e.enterprise_code,
           e.year,
           e.month,
           e.meters,
           e.readings,
           e.electricity_kwh,
           e.electricity_kwh * u.gj_per_kwh / u.gj_per_mwh AS electricity_mwh,
           g.grid_ef_tco2_per_gj * u.gj_per_mwh AS grid_ef_tco2_per_mwh,
           g.grid_ef_year,
           e.electricity_kwh * u.gj_per_kwh * g.grid_ef_tco2_per_gj AS co2_t
    FROM per_enterprise e
    CROSS JOIN u
    LEFT JOIN grid g ON g.year = e.year
)
SELECT * FROM result
ORDER BY enterprise_code ASC NULLS LAST, year, month
