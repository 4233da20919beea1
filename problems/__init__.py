"""pymoo Problem classes that turn recommender outputs into objectives."""
