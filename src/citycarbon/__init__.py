"""citycarbon — a city's carbon peaking and carbon neutrality platform (碳达峰碳中和管理决策平台)."""

__version__ = "0.1.0"
