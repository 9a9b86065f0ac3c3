"""`make bench`: the service measured against its baselines on real processes (not collected
by pytest; see `norecursedirs`). Results go to the git-ignored `.bench/`."""
