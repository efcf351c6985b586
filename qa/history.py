"""Conversations kept: every question, its answer and citations, in one SQLite file.

One row per turn in `turns`, grouped by `conversations`, each about one index (its resolved
path, or the server's URL: `qa ask --continue` follows only that index's); each turn records
the index it was asked of and the index generation its answer came from, so a saved answer
can always be traced to the articles it quotes. The file is `qa.config.history_path()`
(`$XDG_DATA_HOME/qa/history.db`).

The schema evolves by numbered migrations (`MIGRATIONS`), applied once when the file is
opened and recorded in SQLite's `user_version`; the methods that read and write turns know
only the newest schema (simonw/llm keeps its migrations the same way). qa never drops or
rewrites what it did not create: a file that is not a database, or one with tables qa did not
make, or one written by a newer qa, is left alone with an error that says so.

Writes are small (one row) and each call opens its own connection, so a `History` can be used
from any thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from .errors import HistoryError
from .types import Answer, AnswerPhrase, Citation, DateRange

# --- migrations (run by `migrate`, never by the readers below) --------------------------


def _m001_conversations_and_turns(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            started TEXT NOT NULL,          -- ISO 8601, UTC
            index_path TEXT NOT NULL        -- the index (or server URL) it was asked of
        )""")
    db.execute("""
        CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id),
            asked TEXT NOT NULL,            -- ISO 8601, UTC
            index_path TEXT NOT NULL,
            generation TEXT,                -- Answer.generation: the index data it came from
            question TEXT NOT NULL,
            resolved_question TEXT NOT NULL,
            answer TEXT NOT NULL,
            abstained INTEGER NOT NULL,
            confidence REAL,
            mode TEXT NOT NULL,
            fallback_reason TEXT,
            since TEXT,
            until TEXT,
            notes TEXT NOT NULL,            -- JSON list of strings
            citations TEXT NOT NULL         -- JSON list of Citation fields
        )""")
    db.execute("CREATE INDEX turns_by_conversation ON turns (conversation_id, id)")


def _m002_answer_phrase(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE turns ADD COLUMN phrase TEXT")  # JSON of Answer.answer, or NULL
    db.execute("ALTER TABLE turns ADD COLUMN certainty TEXT")  # Answer.certainty


def _m003_conversations_by_index(db: sqlite3.Connection) -> None:
    # `qa history` and `qa ask --continue` keep to one index's conversations.
    db.execute("CREATE INDEX conversations_by_index ON conversations (index_path, id)")
    # Answer.date_range.from_question: the dates (since, until) were read from the question.
    db.execute("ALTER TABLE turns ADD COLUMN dates_from_question INTEGER NOT NULL DEFAULT 0")


BUSY_SECONDS = 5.0  # how long a write waits for another process's transaction

Migration = Callable[[sqlite3.Connection], None]
# Append only: migration n (1-based) brings a database from user_version n-1 to n.
MIGRATIONS: tuple[Migration, ...] = (_m001_conversations_and_turns, _m002_answer_phrase,
                                     _m003_conversations_by_index)
_OUR_TABLES = {"conversations", "turns"}


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring `db` to the newest schema, one numbered migration at a time.

    Each migration runs in its own transaction with the `user_version` it reaches, so a crash
    leaves the database at the last version that completed.

    Returns:
        The schema version the database is at.

    Raises:
        HistoryError: the database is newer than this qa, or holds tables qa did not create.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        raise HistoryError(
            f"The history database was written by a newer qa (schema {version}; this qa knows "
            f"{len(migrations)}). Upgrade qa, or set XDG_DATA_HOME to use another folder.")
    if version == 0:
        tables = {row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        if tables:
            raise HistoryError(
                "The history file holds tables qa did not create "
                f"({', '.join(sorted(tables))}); qa leaves it as it is. Move it away and qa "
                "starts a new one.")
    for number in range(version + 1, len(migrations) + 1):
        with db:  # one transaction per migration, with the version it reaches
            db.execute("BEGIN")
            migrations[number - 1](db)
            db.execute(f"PRAGMA user_version = {number}")
    return len(migrations)


# --- what is kept -------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One saved question and its answer."""

    id: int
    conversation_id: int
    asked: str  # ISO 8601, UTC
    index_path: str
    answer: Answer  # its `generation` is the index generation it came from


@dataclass(frozen=True)
class Conversation:
    """A run of turns that follow on from each other."""

    id: int
    started: str  # ISO 8601, UTC
    index_path: str
    turns: int
    first_question: str
    last_asked: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class History:
    """The conversation history in one SQLite file.

    Raises (every method): HistoryError when the file cannot be read or written.
    """

    def __init__(self, path: Path) -> None:
        """Use `open` instead: it also creates the file and brings its schema up to date."""
        self.path = Path(path)

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> History:
        """Open (creating when missing) the history at `path`, default `qa.config.history_path()`.

        Raises:
            HistoryError: the folder cannot be created, the file is not a database, was written
                by a newer qa or holds tables qa did not create.
        """
        if path is None:
            from .config import history_path

            path = history_path()
        history = cls(Path(path))
        try:
            history.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise HistoryError(f"Cannot create {history.path.parent} for the conversation "
                               f"history ({error.strerror or error}).") from None
        if history.path.exists() and not history.path.is_file():  # SQLite would wait on a FIFO
            raise HistoryError(f"The history {history.path} is not a regular file (a folder, a "
                               "pipe or a device). Move it away and qa starts a new one there, "
                               "or set XDG_DATA_HOME to keep the history somewhere else.")
        with history._connect() as db:
            migrate(db)
        return history

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        except sqlite3.Error as error:
            raise _history_error(self.path, error) from None
        try:
            db.row_factory = sqlite3.Row
            yield db
        except sqlite3.Error as error:
            raise _history_error(self.path, error) from None
        finally:
            db.close()

    # writing ---------------------------------------------------------------------------

    def start_conversation(self, index_path: str) -> int:
        """A new, empty conversation about the index at `index_path`; returns its id."""
        with self._connect() as db:
            cursor = db.execute("INSERT INTO conversations (started, index_path) VALUES (?, ?)",
                                (_now(), index_path))
            return int(cursor.lastrowid or 0)

    def add_turn(self, conversation_id: int | None, answer: Answer, *, index_path: str) -> Turn:
        """Save one answered question; `conversation_id` None starts a new conversation.

        Returns:
            The saved `Turn` (its `conversation_id` says where it went).
        """
        if conversation_id is None:
            conversation_id = self.start_conversation(index_path)
        asked = _now()
        with self._connect() as db:
            cursor = db.execute(
                """INSERT INTO turns (conversation_id, asked, index_path, generation, question,
                       resolved_question, answer, abstained, confidence, mode, fallback_reason,
                       since, until, dates_from_question, notes, citations, phrase, certainty)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (conversation_id, asked, index_path, answer.generation, answer.question,
                 answer.resolved_question, answer.text, int(answer.abstained), answer.confidence,
                 answer.mode, answer.fallback_reason, answer.date_range.since,
                 answer.date_range.until, int(answer.date_range.from_question),
                 json.dumps(list(answer.notes), ensure_ascii=False),
                 json.dumps([asdict(c) for c in answer.citations], ensure_ascii=False),
                 json.dumps(asdict(answer.answer), ensure_ascii=False)
                 if answer.answer is not None else None, answer.certainty))
            return Turn(int(cursor.lastrowid or 0), conversation_id, asked, index_path, answer)

    # reading ---------------------------------------------------------------------------

    def conversations(self, limit: int | None = None, *,
                      index_path: str | None = None) -> list[Conversation]:
        """Conversations that hold at least one turn, the most recently used first.

        Args:
            limit: at most this many (None: all).
            index_path: only the conversations about this index (or server URL), as
                `add_turn` recorded it; None: every one.
        """
        return self._conversations("WHERE c.index_path = ?" if index_path is not None else "",
                                   () if index_path is None else (index_path,), limit)

    def _conversations(self, where: str, params: tuple[object, ...],
                       limit: int | None) -> list[Conversation]:
        with self._connect() as db:
            rows = db.execute(
                f"""SELECT c.id, c.started, c.index_path, COUNT(t.id) AS turns,
                          MAX(t.asked) AS last_asked, MAX(t.id) AS last_turn,
                          (SELECT question FROM turns WHERE conversation_id = c.id
                           ORDER BY id LIMIT 1) AS first_question
                   FROM conversations c JOIN turns t ON t.conversation_id = c.id
                   {where} GROUP BY c.id ORDER BY last_turn DESC LIMIT ?""",
                (*params, -1 if limit is None else limit)).fetchall()
        return [Conversation(r["id"], r["started"], r["index_path"], r["turns"],
                             r["first_question"], r["last_asked"]) for r in rows]

    def last_conversation(self, *, index_path: str | None = None) -> Conversation | None:
        """The conversation of the newest turn (on one index, with `index_path`), or None
        when there is none."""
        found = self.conversations(limit=1, index_path=index_path)
        return found[0] if found else None

    def conversation(self, conversation_id: int) -> Conversation | None:
        """One conversation by id (None when there is none with turns)."""
        found = self._conversations("WHERE c.id = ?", (conversation_id,), 1)
        return found[0] if found else None

    def turns(self, conversation_id: int) -> list[Turn]:
        """The turns of one conversation, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM turns WHERE conversation_id = ? ORDER BY id",
                              (conversation_id,)).fetchall()
        return [_turn(row, self.path) for row in rows]

    def questions(self, limit: int = 500) -> list[str]:
        """The questions asked most recently, oldest first (for the chat's ↑), each once."""
        with self._connect() as db:
            rows = db.execute("SELECT question FROM turns ORDER BY id DESC LIMIT ?",
                              (limit,)).fetchall()
        seen: set[str] = set()
        newest_first = [q for (q,) in rows if not (q in seen or seen.add(q))]
        return newest_first[::-1]


def _history_error(path: Path, error: sqlite3.Error) -> HistoryError:
    """What happened to the history, in words, and what to do: a locked, read-only or full
    database is not a damaged one, and moving it away would lose it for nothing."""
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(error).lower()
    if primary in (5, 6) or "locked" in text:  # SQLITE_BUSY, SQLITE_LOCKED
        return HistoryError(
            f"The history {path} is locked: another qa (or another program) is writing to it "
            f"({error}). Try again in a moment; if it stays locked, close the other program.")
    if primary == 8 or "readonly" in text or "read-only" in text:  # SQLITE_READONLY
        return HistoryError(
            f"The history {path} is read-only ({error}). Check the permissions of the file and "
            "its folder (both must be writable by you), or set XDG_DATA_HOME to keep the "
            "history somewhere else.")
    if primary == 13 or "full" in text:  # SQLITE_FULL
        return HistoryError(
            f"The disk holding the history {path} is full ({error}); nothing was saved. Free "
            "some space there, or set XDG_DATA_HOME to keep the history somewhere else.")
    if primary in (3, 10, 14):  # SQLITE_PERM, SQLITE_IOERR, SQLITE_CANTOPEN
        return HistoryError(
            f"Cannot open the history {path} ({error}). Check that its folder exists and is "
            "writable by you, or set XDG_DATA_HOME to keep the history somewhere else.")
    return HistoryError(f"The history {path} cannot be used ({error}). Move it away and qa "
                        "starts a new one.")


_CITATION_FIELDS = {f.name for f in fields(Citation)}
_PHRASE_FIELDS = {f.name for f in fields(AnswerPhrase)}


def _turn(row: sqlite3.Row, path: Path) -> Turn:
    """A saved turn; HistoryError naming it when its row no longer reads as one."""
    try:
        citations = tuple(Citation(**{k: v for k, v in c.items() if k in _CITATION_FIELDS})
                          for c in json.loads(row["citations"]))
        answer = Answer(
            question=row["question"], resolved_question=row["resolved_question"],
            text=row["answer"], citations=citations, abstained=bool(row["abstained"]),
            mode=row["mode"], fallback_reason=row["fallback_reason"],
            date_range=DateRange(row["since"], row["until"], bool(row["dates_from_question"])),
            notes=tuple(json.loads(row["notes"])),
            confidence=row["confidence"], generation=row["generation"],
            certainty=row["certainty"],
            answer=AnswerPhrase(**{k: v for k, v in json.loads(row["phrase"]).items()
                                   if k in _PHRASE_FIELDS}) if row["phrase"] else None)
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise HistoryError(
            f"In the history {path}, turn {row['id']} of conversation "
            f"{row['conversation_id']} is damaged ({type(exc).__name__}: {exc}); the other "
            "turns are unaffected. `qa history` lists the conversations; to drop that turn: "
            f"sqlite3 {path} 'DELETE FROM turns WHERE id = {row['id']}'") from None
    return Turn(row["id"], row["conversation_id"], row["asked"], row["index_path"], answer)
