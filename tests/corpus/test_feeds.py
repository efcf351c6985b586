"""`.feeds` files: what qa fetches, how long it waits and what it refuses (issue 22).

A feed is fetched under one deadline for the whole fetch (`feed_timeout`) and a size cap;
`file://` URLs are read only inside the corpus folder and only when they name a regular file;
loopback, link-local and private addresses (this machine, the local network, a cloud's
metadata service) are refused unless `allow_private_feeds` is set — after every redirect too,
and for the address a name resolves to.

Network rule: the tests that fetch over HTTP run a small server thread and the build in a
network namespace of their own (tests/feed_driver.py through conftest's `run_driver`; only
loopback exists there) and skip where that is not permitted.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import netns_prefix, run_driver

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
DEADLINE = 2  # seconds, the feed_timeout these tests set


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "desk.md").write_text("---\ntitle: Desk note\n---\nThe night desk closed at "
                                    "midnight, the editor said.\n", encoding="utf-8")
    return folder


def build_in_netns(tmp_path: Path, corpus: Path, feeds: list[str], env: dict[str, str],
                   seconds: float = 30) -> dict:
    prefix = netns_prefix("an HTTP server for feeds")
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec = {"corpus": str(corpus), "index": str(tmp_path / "index"), "feeds": feeds,
            "env": env, "seconds": seconds}
    return run_driver(prefix, "feed_driver.py", spec, tmp_path, timeout=seconds + 60)


def reasons(result: dict) -> str:
    return " | ".join(reason for _, reason in result["skipped"])


# --- finding 1: a slow feed never holds a build --------------------------------------------
def test_a_trickling_feed_is_cut_at_the_deadline_and_the_build_goes_on(tmp_path, corpus):
    """One byte every 0.2 s is 80 s for this feed; every read returns quickly, so only a
    deadline for the whole fetch ends it. The build finishes, says why, and keeps the rest."""
    result = build_in_netns(tmp_path, corpus, ["http://127.0.0.1:{port}/trickle"],
                            {"QA_ALLOW_PRIVATE_FEEDS": "1", "QA_FEED_TIMEOUT": str(DEADLINE)})
    assert not result.get("timed_out"), "the build waited on the trickling feed"
    # The feed alone would take 80 s; the rest is the build (model, embedding), which a loaded
    # machine can stretch to tens of seconds.
    assert result["seconds"] < DEADLINE + 40, result
    assert "/trickle" in result["requests"]
    assert f"took longer than {DEADLINE} s" in reasons(result), reasons(result)
    assert result["articles"] == ["desk"]


def test_a_feed_larger_than_the_cap_is_cut_off(tmp_path, corpus):
    result = build_in_netns(tmp_path, corpus, ["http://127.0.0.1:{port}/big"],
                            {"QA_ALLOW_PRIVATE_FEEDS": "1"}, seconds=40)
    assert not result.get("timed_out")
    assert "larger than 20 MB" in reasons(result), reasons(result)


def test_a_file_url_naming_a_fifo_is_refused_not_waited_on(tmp_path, corpus):
    """The corpus walk skips the FIFO itself; a `.feeds` line naming it must not open it."""
    fifo = corpus / "pipe.rss"
    os.mkfifo(fifo)
    spec_feeds = [fifo.as_uri()]
    result = run_driver([], "feed_driver.py", {"corpus": str(corpus), "index": str(
        tmp_path / "index"), "feeds": spec_feeds, "env": {}, "seconds": 20}, tmp_path,
        timeout=80)
    assert not result.get("timed_out"), "the build waited on a FIFO named by a file:// URL"
    assert "not a regular file" in reasons(result), reasons(result)
    assert result["articles"] == ["desk"]


# --- finding 2: what a feed may read ---------------------------------------------------------
@pytest.mark.parametrize("where", ["outside", "proc", "dev-zero"])
def test_a_file_url_outside_the_corpus_is_refused(tmp_path, corpus, where):
    """A private file named by a `.feeds` line would be indexed and then served by `qa
    serve`; a symlink to the same file is already refused by the corpus walk."""
    from qa.corpus.ingest import load_corpus

    outside = tmp_path / "private"
    outside.mkdir()
    shutil.copy(FORMATS / "fjord.rss", outside / "fjord.rss")
    url = {"outside": (outside / "fjord.rss").as_uri(), "proc": "file:///proc/self/environ",
           "dev-zero": "file:///dev/zero"}[where]
    (corpus / "news.feeds").write_text(url + "\n", encoding="utf-8")
    t0 = time.monotonic()
    articles, skipped = load_corpus(corpus)
    assert time.monotonic() - t0 < 5
    assert [a.id for a in articles] == ["desk"]
    why = " | ".join(s.reason for s in skipped)
    assert "outside the corpus folder" in why, why


def test_a_file_url_inside_the_corpus_is_read(corpus):
    """The supported way to index a feed file by URL: keep it in the corpus (a hidden
    folder is not indexed on its own)."""
    from qa.corpus.ingest import load_corpus

    (corpus / ".sites").mkdir()
    shutil.copy(FORMATS / "fjord.rss", corpus / ".sites" / "fjord.rss")
    (corpus / "news.feeds").write_text((corpus / ".sites" / "fjord.rss").as_uri() + "\n")
    articles, skipped = load_corpus(corpus)
    assert len([a for a in articles if a.path == "news.feeds"]) == 2, skipped
    # A link inside the corpus to that file is refused like the walk refuses links.
    os.symlink(corpus / ".sites" / "fjord.rss", corpus / ".sites" / "link.rss")
    (corpus / "news.feeds").write_text((corpus / ".sites" / "link.rss").as_uri() + "\n")
    articles, skipped = load_corpus(corpus)
    assert [a.id for a in articles] == ["desk"]
    assert "symlink" in " ".join(s.reason for s in skipped)


def test_local_addresses_are_refused_unless_allowed(tmp_path, corpus):
    """Loopback by address and by name (localhost resolves to 127.0.0.1): refused without a
    request being sent; with allow_private_feeds the same feed is read."""
    feeds = ["http://127.0.0.1:{port}/feed", "http://localhost:{port}/feed"]
    refused = build_in_netns(tmp_path / "a", corpus, feeds, {})
    assert refused["requests"] == [], "qa sent a request to a loopback address"
    why = reasons(refused)
    assert why.count("loopback") == 2 and "allow_private_feeds" in why, why
    assert refused["articles"] == ["desk"]
    allowed = build_in_netns(tmp_path / "b", corpus, feeds[:1], {"QA_ALLOW_PRIVATE_FEEDS": "1"})
    assert allowed["requests"] == ["/feed"]
    assert len(allowed["articles"]) == 2, allowed


def test_redirects_are_checked_like_the_first_url(tmp_path, corpus):
    """A public address that redirects to loopback, or to a file: the second hop is refused."""
    result = build_in_netns(tmp_path, corpus, ["http://{public}:{port}/to-loopback",
                                               "http://{public}:{port}/to-file"], {})
    if not result["public"]:
        pytest.skip("cannot add an address to loopback in the test's network namespace")
    assert sorted(result["requests"]) == ["/to-file", "/to-loopback"], result
    why = reasons(result)
    assert "loopback" in why and "file:///etc/passwd" in why, why
    assert result["articles"] == ["desk"]


def test_link_local_and_private_addresses_are_refused_before_connecting(tmp_path, corpus):
    """A cloud's metadata service, the local network, IPv6 loopback and an IPv4-mapped
    loopback: each refused by address, with the setting that allows it named."""
    urls = ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/feed",
            "http://[::1]:8080/feed", "http://[::ffff:127.0.0.1]:{port}/feed"]
    result = build_in_netns(tmp_path, corpus, urls, {})
    assert result["requests"] == []
    refusals = [r for _, r in result["skipped"] if "allow_private_feeds" in r]
    assert len(refusals) == 4 and not any("could not be fetched" in r for r in refusals), \
        reasons(result)
