"""Read models for pages, API and reports: role- and tenant-scoped reads of the store and of
current results. No formulas and no runs here."""
