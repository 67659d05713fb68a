"""channel_sim: a gRPC FeatureLink proxy that loses, corrupts, delays and reorders frames, controlled live over REST."""
