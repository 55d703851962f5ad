"""Reading users' files: tables, labelled routing sets, request logs, chat messages, catalogs, timestamps."""
