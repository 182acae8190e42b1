from devtools.kamailio_server import fresh_kamailio, kamailio, pytest_runtest_makereport  # noqa: F401
