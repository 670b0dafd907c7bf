"""The run directory: everything a run writes and every reader reads (store, manifest, outputs, shards)."""
