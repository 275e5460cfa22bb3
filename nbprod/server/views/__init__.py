"""One module per page type. Each builds its page context (a dataclass whose fields carry
help text) from nbprod's API, catalog and store; the handlers render it as HTML or JSON."""
