"""技术图谱 and action-plan tracking of the 科技支撑碳达峰碳中和实施方案 (domain: data and pure
functions; :mod:`catalogue` reads the versioned data files, :mod:`tracking` computes task status
and overdue tasks)."""
