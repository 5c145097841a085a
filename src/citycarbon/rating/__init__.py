"""Enterprise ratings: carbon efficiency (碳效码) against the enterprise's industry."""
