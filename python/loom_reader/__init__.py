"""Read a Loom results store into pandas DataFrames (or lists of dicts without pandas).

    import loom_reader
    store = loom_reader.open_store(".loom")          # the --state directory, or its loom.db
    runs = store.runs(experiment="quickstart")       # one row per run, as `loom export` writes it
    ok = runs[runs.succeeded]                        # average metrics over these rows only
    curves = store.curves(experiment="stepping")     # run, step, metric, value (long format)
    files = store.artifacts()                        # run, path, sha256, bytes, exists

The store is opened read-only (docs/store.md), so it can be read while `loom run` writes it.
"""

from .store import RUN_COLUMNS, Store, StoreError, open_store

__all__ = ["RUN_COLUMNS", "Store", "StoreError", "open_store"]
