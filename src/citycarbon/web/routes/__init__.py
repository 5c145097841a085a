"""Route modules of the web platform: each exposes ``router`` (see citycarbon.web.app)."""
