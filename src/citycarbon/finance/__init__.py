"""Green finance: subsidy calculators and (later) green credit scores — pure functions on tables."""
