"""Which stream URLs can be embedded, and as what."""

import pytest

from ehalsodag.agenda.streams import StreamError, check_link, embed_for


@pytest.mark.parametrize(
    ("url", "kind", "src"),
    [
        ("https://www.youtube.com/watch?v=EXAMPLE0001", "youtube", "https://www.youtube-nocookie.com/embed/EXAMPLE0001"),
        ("https://youtu.be/EXAMPLE0002", "youtube", "https://www.youtube-nocookie.com/embed/EXAMPLE0002"),
        ("https://www.youtube.com/live/EXAMPLE0003?si=x", "youtube", "https://www.youtube-nocookie.com/embed/EXAMPLE0003"),
        ("https://vimeo.com/123456789", "vimeo", "https://player.vimeo.com/video/123456789"),
        ("https://player.vimeo.com/video/76979871", "vimeo", "https://player.vimeo.com/video/76979871"),
        ("https://media.regionen.se/live/main.m3u8", "hls", "https://media.regionen.se/live/main.m3u8"),
    ],
)
def test_known_hosts_become_embeds(url, kind, src):
    embed = embed_for(url)
    assert (embed.kind, embed.src) == (kind, src)


def test_iframe_only_from_the_event_allow_list():
    assert embed_for("https://play.regionen.se/x", ["play.regionen.se"]).kind == "iframe"
    with pytest.raises(StreamError, match="allowed_stream_hosts"):
        embed_for("https://play.regionen.se/x", ["other.se"])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://www.youtube.com/watch?v=EXAMPLE0001", "https"),
        ("javascript:alert(1)", "https"),
        ("https://www.youtube.com/watch?v=short", "video id"),
        ("https://vimeo.com/channels/", "Vimeo"),
        ("https:///nohost.m3u8", "no host"),
    ],
)
def test_everything_else_is_refused(url, reason):
    with pytest.raises(StreamError, match=reason):
        embed_for(url)


def test_recording_links_need_https():
    check_link("https://example.se/recording")
    with pytest.raises(StreamError):
        check_link("ftp://example.se/recording")
