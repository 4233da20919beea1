"""Speed measurements, reported as ratios measured within one run (``make bench``)."""
