"""Deterministic demo city (示例城市): synthetic enterprises, meters and energy data calibrated to a
city's published totals (``calibration/<city id>.yaml``). See :mod:`citycarbon.demo.generator`."""

from citycarbon.demo.generator import (
    DemoCity,
    build_city,
    city_series,
    credit_codes,
    electricity_targets,
    generate_city,
    load_calibration,
    write_meter_readings,
)

__all__ = [
    "DemoCity",
    "build_city",
    "city_series",
    "credit_codes",
    "electricity_targets",
    "generate_city",
    "load_calibration",
    "write_meter_readings",
]
