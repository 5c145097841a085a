-- Gaps that would turn into missing CO2: data years without a grid factor, readings of meters
-- that are not in the registry. One row per gap; empty when all is well.
SELECT 'current_meter_readings' AS source, 'grid_ef' AS missing, c.grid_region AS key,
       r.year, COUNT(*) AS rows_affected
FROM current_meter_readings r
CROSS JOIN factor_choice c
LEFT JOIN factor_values f
       ON f.parameter = 'grid_ef' AND f.context = '' AND f.key = c.grid_region AND f.year = r.year
WHERE f.value_base IS NULL
GROUP BY c.grid_region, r.year
UNION ALL
SELECT 'current_meter_readings' AS source, 'meter' AS missing, r.meter_id AS key,
       r.year, COUNT(*) AS rows_affected
FROM current_meter_readings r
LEFT JOIN meters m ON m.meter_id = r.meter_id
WHERE m.meter_id IS NULL
GROUP BY r.meter_id, r.year
ORDER BY missing, key, year
