"""Request logs at scale: scoring them (locally or on Ray), replaying them under a λ policy, and the reports the Schedule page and `simulate` show."""
