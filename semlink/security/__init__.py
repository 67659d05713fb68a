"""Who may talk over the gRPC links: TLS from PEM files (:mod:`semlink.security.tls`) and the development
certificates for it (:mod:`semlink.security.certs`); the REST APIs' bearer tokens are :mod:`semlink.http.tokens`."""
