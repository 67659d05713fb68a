"""What the services' REST APIs share on FastAPI: one error schema (:mod:`semlink.http.errors`), cross-origin
access for the page (:mod:`semlink.http.cors`), bearer-token guards (:mod:`semlink.http.tokens`), number types
of strict request bodies (:mod:`semlink.http.bodies`), and settings, logging and serving (:mod:`semlink.http.serve`)."""
