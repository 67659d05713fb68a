"""The receiver service: gRPC frame ingest, cached features, and a REST API for Florence-2 tasks on them."""
