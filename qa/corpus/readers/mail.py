"""E-mail newsletters: one message (`.eml`) or a mailbox of them (`.mbox`).

A message's subject is the title, its `Date` the date and its sender's name (else domain) the
source; the text is its text/plain part (without the signature), else its text/html part
through the HTML path. The articles of a mailbox are `<file slug>/<message number>`
(mailboxes grow at the end, so positions stay); a message that cannot be read is skipped as
`<path>:<number>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qa.corpus import limits
from qa.corpus.article import article_from_body, article_id, has_words, iso_date, normalise
from qa.corpus.readers.registry import Read, SourceFile, Takes, register
from qa.corpus.readers.webpage import extract_html, html_to_text
from qa.types import Article, Skipped

if TYPE_CHECKING:
    from email.message import EmailMessage


@register(".eml", takes=Takes.BYTES)
def read_eml(file: SourceFile) -> Read:
    """One article: the message."""
    data, rel = file.data, file.rel
    import email
    from email import policy

    try:
        message = email.message_from_bytes(data, policy=policy.default)
        found = _email_article(message, id=article_id(rel), rel=rel, fallback_title=Path(rel).stem)
    except limits.LimitHit:
        raise
    except Exception as exc:  # the email package raises on some malformed headers
        return [], [Skipped(rel, f"e-mail could not be read ({type(exc).__name__}: {exc})")]
    if isinstance(found, str):
        return [], [Skipped(rel, found)]
    return [found], []


@register(".mbox", takes=Takes.BYTES)
def read_mbox(file: SourceFile) -> Read:
    """An article per message of the mailbox."""
    path, rel = file.path, file.rel
    import email
    import mailbox
    from email import policy

    articles: list[Article] = []
    skipped: list[Skipped] = []
    file_id = article_id(rel)
    try:
        box = mailbox.mbox(
            path,
            factory=lambda f: email.message_from_binary_file(f, policy=policy.default),
            create=False,
        )
    except Exception as exc:
        return [], [Skipped(rel, f"mailbox could not be read ({type(exc).__name__}: {exc})")]
    try:
        messages = enumerate(box, start=1)
        for number, message in messages:
            where = f"{rel}:{number}"
            if number > limits.MAX_RECORDS:
                more = 1 + sum(1 for _ in messages)
                skipped.append(limits.more_records(rel, limits.MAX_RECORDS, more))
                break
            try:
                found = _email_article(
                    message, id=f"{file_id}/{number}", rel=rel, fallback_title=f"message {number}"
                )
            except limits.LimitHit as limit:
                found = str(limit)
            except Exception as exc:  # the email package raises on some malformed headers
                found = f"could not be read ({type(exc).__name__}: {exc})"
            if isinstance(found, str):
                skipped.append(Skipped(where, f"message {number}: {found}"))
            else:
                articles.append(found)
    except Exception as exc:
        skipped.append(Skipped(rel, f"mailbox could not be read ({type(exc).__name__}: {exc})"))
    finally:
        box.close()
    if not articles and not skipped:
        why = "no messages (each message of an .mbox starts with a 'From ' line)"
        return [], [Skipped(rel, why)]
    return articles, skipped


def _email_article(
    message: EmailMessage, *, id: str, rel: str, fallback_title: str
) -> Article | str:
    """The article of one e-mail, or why there is none."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "no text/plain or text/html part"
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or wrong charset
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    text = normalise(content)
    if part.get_content_type() == "text/html":
        try:
            text = extract_html(text)["text"] or ""
        except Exception:  # trafilatura could not parse it: the plain conversion below
            text = ""
        if not has_words(text):
            text = html_to_text(content)
    else:
        text = text.split("\n-- \n", 1)[0]  # the signature
    sender = message.get("From")
    addresses = getattr(sender, "addresses", ())
    source = (addresses[0].display_name or addresses[0].domain) if addresses else None
    article = article_from_body(
        text,
        id=id,
        rel=rel,
        title=str(message.get("Subject") or "").strip() or None,
        date=iso_date(str(message.get("Date") or "")),
        source=source,
        fallback_title=fallback_title,
    )
    return article if article is not None else "no text in the message"

