import logging

from inboxlink.web.access_log import DropQueryStrings


def test_query_strings_never_reach_the_access_log() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/oauth/gmail/callback?code=4/secret&state=s3cret", "1.1", 303),
        None,
    )
    assert DropQueryStrings().filter(record)
    assert "secret" not in record.getMessage()
    assert "/oauth/gmail/callback" in record.getMessage()
