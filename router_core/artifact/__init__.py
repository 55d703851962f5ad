"""The router artifact on disk: its schema, reading and writing it safely, upgrading old ones, zips."""
