"""The run store: the SQLite index, the run folders' files, one-process-per-run locks, schema migrations."""
