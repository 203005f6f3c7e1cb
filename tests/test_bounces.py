"""The signed VERP tokens of bounce addresses: they name run and contact, survive a mail
system's lower case and cannot be forged."""

from __future__ import annotations

from core.messaging.bounces import make_bounce_token, read_bounce_token, verp_address, verp_token

SECRET = "test-secret-key"
BOUNCES = "bounces@example.de"


def test_a_token_names_run_and_contact_survives_lower_case_and_cannot_be_forged():
    token = make_bounce_token(SECRET, 7, 12345)
    address = verp_address(BOUNCES, token)
    assert address.startswith("bounces+") and address.endswith("@example.de")
    assert len(address.partition("@")[0]) <= 64
    assert verp_token(address.upper(), BOUNCES) == token
    found = read_bounce_token(SECRET, token.upper())
    assert (found.run_id, found.contact_id) == (7, 12345)
    run, _contact, signature = token.split("-")
    other = make_bounce_token(SECRET, 7, 12346)
    assert read_bounce_token(SECRET, f"{run}-{other.split('-')[1]}-{signature}") is None
    assert read_bounce_token("another-key", token) is None
    assert read_bounce_token(SECRET, "garbage") is None
    assert verp_token("someone+x@other.de", BOUNCES) is None
