"""Build and development tools; a package so that ``tools.kamailio`` imports."""
