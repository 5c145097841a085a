"""Use cases: each run reads inputs from the store, calls the domain core and writes declared
results; :mod:`.pipeline` orders them after every ingest; :mod:`.jobs` runs the pipeline in
the background."""
