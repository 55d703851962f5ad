"""Learning from the traffic a router routes: feedback on its answers (store.py), exploration with recorded
propensities (explore.py), off-policy estimates of another policy from them (offpolicy.py), and updating a router from
partial labels (learn.py)."""
