"""The repo's Kamailio: config (kamailio.cfg) and controller (server.py)."""
