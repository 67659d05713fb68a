"""REST routers: tasks on frames, frame listings, the event feed, health and metrics."""
