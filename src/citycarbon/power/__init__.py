"""The 电-碳-能 chain: electricity-to-carbon nowcast, carbon emission flow, hourly/nodal scope 2."""
