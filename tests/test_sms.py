"""Segment counting and number normalisation for SMS."""

import pytest

from core.messaging.sms import SmsEncoding, check_sender, encode_info, normalise_mobile


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SmsEncoding("GSM-7", 0, 0)),
        ("a" * 160, SmsEncoding("GSM-7", 160, 1)),
        ("a" * 161, SmsEncoding("GSM-7", 161, 2)),
        ("a" * 306, SmsEncoding("GSM-7", 306, 2)),
        ("a" * 307, SmsEncoding("GSM-7", 307, 3)),
        ("ü" * 70, SmsEncoding("GSM-7", 70, 1)),  # äöüß are in the GSM-7 alphabet
        ("ł" * 70, SmsEncoding("UCS-2", 70, 1)),
        ("ł" * 71, SmsEncoding("UCS-2", 71, 2)),
        ("ł" * 134, SmsEncoding("UCS-2", 134, 2)),
        ("ł" * 135, SmsEncoding("UCS-2", 135, 3)),
    ],
)
def test_segment_boundaries(text, expected):
    assert encode_info(text) == expected


@pytest.mark.parametrize("char", list("^{}\\[~]|€\f"))
def test_extension_characters_count_twice(char):
    assert encode_info(char) == SmsEncoding("GSM-7", 2, 1)
    assert encode_info("a" * 158 + char) == SmsEncoding("GSM-7", 160, 1)
    assert encode_info("a" * 159 + char) == SmsEncoding("GSM-7", 161, 2)


def test_an_escape_pair_is_never_split_across_parts():
    # 152 + (2) + 151 = 305 septets would fit two parts of 153 if the pair could be split
    assert encode_info("a" * 152 + "€" + "a" * 151).segments == 2
    assert encode_info("a" * 152 + "€" + "a" * 152) == SmsEncoding("GSM-7", 306, 3)


def test_capital_c_cedilla_is_gsm7_but_lowercase_switches_everything_to_ucs2():
    assert encode_info("Ç" * 160) == SmsEncoding("GSM-7", 160, 1)
    assert encode_info("a" * 100 + "ç") == SmsEncoding("UCS-2", 101, 2)
    assert encode_info("ç").encoding == "UCS-2"


def test_emoji_count_as_two_utf16_units_and_are_not_split():
    assert encode_info("😀") == SmsEncoding("UCS-2", 2, 1)
    assert encode_info("😀" * 35) == SmsEncoding("UCS-2", 70, 1)
    assert encode_info("a" + "😀" * 35) == SmsEncoding("UCS-2", 71, 2)
    # 66 units, then an emoji that would straddle the 67-unit boundary opens part two
    assert encode_info("a" * 66 + "😀" + "a" * 65).segments == 2
    assert encode_info("a" * 66 + "😀" + "a" * 66).segments == 3


@pytest.mark.parametrize(
    "raw",
    [
        "0171 2345678",
        "01712345678",
        "0171/2345678",
        "0171-234 56 78",
        "+49 171 2345678",
        "+49 (0)171-2345678",
        "+49 (0) 171 / 234 56 78",
        "0049171 2345678",
        "0049 (171) 2345678",
        "+491712345678",
    ],
)
def test_german_mobile_numbers_in_many_formats(raw):
    assert normalise_mobile(raw) == "+491712345678"


def test_other_regions_and_explicit_country_codes():
    assert normalise_mobile("+44 7400 123456") == "+447400123456"
    assert normalise_mobile("07400 123456", default_region="GB") == "+447400123456"
    assert normalise_mobile("0664 1234567", default_region="AT") == "+436641234567"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0221 123456", "'0221 123456' is a landline, not a mobile number"),
        ("+49 30 12345678", "is a landline, not a mobile number"),
        ("0800 1234567", "is not a mobile number (toll free)"),
        ("garbage", "'garbage' is not a valid number"),
        ("+4917", "is not a valid number"),
        ("0171 23", "is not a valid number"),
        ("", "no mobile number"),
        (None, "no mobile number"),
    ],
)
def test_numbers_that_cannot_get_an_sms_are_refused_with_the_reason(raw, reason):
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        normalise_mobile(raw)


@pytest.mark.parametrize("sender", ["Campaign", "ACME-Shop", "My Shop 24", "+4917123", "49171"])
def test_valid_senders(sender):
    assert check_sender(sender) == sender


@pytest.mark.parametrize("sender", ["TwelveLetter", "", "Sender!", "+1234567890123456"])
def test_invalid_senders(sender):
    with pytest.raises(ValueError, match="up to 11"):
        check_sender(sender)
