"""The decision log: one row per routed request, its schema, the writer, and every query over it."""
