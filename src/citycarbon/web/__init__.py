"""The web platform (FastAPI app, pages, API); see citycarbon.web.app."""
