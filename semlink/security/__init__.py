"""Who may talk to the services: bearer tokens on the REST APIs (:mod:`semlink.security.tokens`) and the
development certificates for TLS on the gRPC links (:mod:`semlink.security.certs`)."""
