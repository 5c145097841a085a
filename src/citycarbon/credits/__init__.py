"""Resident carbon credits (碳普惠): methodologies as data, reductions and caps per event."""
