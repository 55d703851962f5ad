"""λ over time: fixed, a weekday × hour schedule, a fitted constant or a live budget controller; one parser for every text form, one budget solver, and the policy in force while serving."""
