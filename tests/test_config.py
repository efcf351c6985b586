"""Settings in one place: flags > environment > the TOML file > defaults; clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa import config
from qa.cli import main
from qa.errors import ConfigError

ALL_ENV = [o.env for o in config.OPTIONS]


@pytest.fixture
def settings_file(tmp_path, monkeypatch) -> Path:
    """$XDG_CONFIG_HOME/qa/config.toml in a temporary home, with no QA_* variable set."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "xdg" / "qa" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def test_the_file_lives_under_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.config_file() == tmp_path / "qa" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config.config_file() == tmp_path / "home" / ".config" / "qa" / "config.toml"


def test_defaults_without_a_file(settings_file):
    s = config.load_settings()
    assert (s.index, s.corpus, s.model, s.watch, s.theme, s.fusion_weight) == (
        Path("index"), Path("corpus"), config.PACKAGED_MODEL, True, "textual-dark", None)
    assert all(source == "default" for _, source in s.sources)


def test_flags_beat_environment_beat_file_beat_defaults(settings_file, monkeypatch, tmp_path):
    settings_file.write_text(
        '# my news desk\n'
        'index = "~/desk/index"\n'
        'corpus = "/data/articles"\n'
        'watch = false\n'
        'fusion_weight = 0.25\n', encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    s = config.load_settings()
    assert s.index == tmp_path / "home" / "desk" / "index"  # ~ is the home folder
    assert s.source("index") == f"{settings_file} line 2"
    assert (s.corpus, s.watch, s.fusion_weight) == (Path("/data/articles"), False, 0.25)
    assert s.source("watch") == f"{settings_file} line 4" and s.is_default("theme")

    monkeypatch.setenv("QA_INDEX", "/env/index")
    monkeypatch.setenv("QA_WATCH", "on")
    s = config.load_settings()
    assert (s.index, s.source("index"), s.watch, s.source("watch")) == (
        Path("/env/index"), "QA_INDEX", True, "QA_WATCH")

    s = config.load_settings({"index": "/flag/index", "corpus": None})
    assert (s.index, s.source("index")) == (Path("/flag/index"), "--index")
    assert s.source("corpus") == f"{settings_file} line 3"  # an absent flag does not count
    # The one-setting helpers the rest of qa calls agree with the whole.
    assert config.index_path() == Path("/env/index")
    assert config.index_path("/flag/index") == Path("/flag/index")
    assert config.corpus_path() == Path("/data/articles")
    assert config.fusion_weight(0.5) == 0.25


def test_retrieval_uses_the_fusion_weight_setting(settings_file, seed_index):
    from qa import Retriever

    assert Retriever.open(seed_index).fusion_weight == 0.5  # the fitted default
    settings_file.write_text("fusion_weight = 0.8\n", encoding="utf-8")
    assert Retriever.open(seed_index).fusion_weight == 0.8


def test_qa_config_prints_each_setting_and_its_source(settings_file, monkeypatch, capsys):
    settings_file.write_text('theme = "nord"\n\nwatch = false\n', encoding="utf-8")
    monkeypatch.setenv("QA_CORPUS", "/env/corpus")
    assert main(["config", "--index", "/flag/index"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"settings file: {settings_file}"
    rows = {line.split()[0]: line for line in out[1:]}
    assert set(rows) == {"index", "corpus", "model", "watch", "theme", "fusion_weight",
                         "relative_dates", "runtime", "store", "milvus_uri", "executor",
                         "ray_address",
                         "allow_private_feeds", "feed_timeout", "serve_token", "allowed_hosts"}
    assert rows["index"].split()[2:] == ["/flag/index", "--index"]
    assert rows["corpus"].split()[2:] == ["/env/corpus", "QA_CORPUS"]
    assert rows["theme"].split()[2:] == ["nord", str(settings_file), "line", "1"]
    assert rows["watch"].split()[2:] == ["false", str(settings_file), "line", "3"]
    assert rows["model"].split()[2:] == [config.PACKAGED_MODEL, "default"]
    assert rows["fusion_weight"].split()[2] == "0.5" and "HYBRID_ALPHA" in rows["fusion_weight"]
    assert main(["config", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["settings"]["watch"] == {"value": False, "source": f"{settings_file} line 3",
                                            "env": "QA_WATCH"}


def test_qa_config_example_is_a_valid_settings_file(settings_file, capsys):
    assert main(["config", "--example"]) == 0
    settings_file.write_text(capsys.readouterr().out, encoding="utf-8")
    s = config.load_settings()
    assert s.source("index").startswith(str(settings_file)) and s.watch is True
    assert main(["config"]) == 0
    assert "none yet" not in capsys.readouterr().out


@pytest.mark.parametrize("text, expected", [
    ('index = ~/news\n', r"config\.toml line 1, column 9 \('index = ~/news'\): invalid value"
                         r".*in quotes"),
    ('watch = true\nwatch = false\n', r"line 2.*cannot overwrite a value"),
    ('indx = "x"\n', r"config\.toml line 1: unknown setting 'indx'\. Did you mean 'index'\?"),
    ('\n[chat]\nwatch = true\n', r"config\.toml line 2: unknown setting 'chat'"),
    ('watch = "yes"\n', r"config\.toml line 1: watch must be true or false \(no quotes\), not "
                        r"'yes'\. Write e\.g\. watch = true"),
    ('fusion_weight = 1.5\n', r"line 1: fusion_weight must be a number from 0 to 1, not 1\.5"),
    ('fusion_weight = true\n', r"fusion_weight must be a number from 0 to 1, not true"),
    ('index = ""\n', r"index must be a folder in quotes"),
    ('model = 3\n', r"model must be a name in quotes, not 3"),
])
def test_a_malformed_file_names_the_file_the_line_and_the_fix(settings_file, text, expected):
    settings_file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as error:
        config.load_settings()
    assert str(settings_file) in str(error.value)


def test_a_malformed_file_is_a_clear_cli_error(settings_file, capsys):
    settings_file.write_text('index = "ok"\nwatch = maybe\n', encoding="utf-8")
    for argv in (["config"], ["search", "NATO"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"qa: settings file {settings_file} line 2, column 9")
        assert "Traceback" not in err and "watch = false" in err


@pytest.mark.parametrize("env, value, expected", [
    ("QA_WATCH", "maybe", r"QA_WATCH='maybe' is not on or off"),
    ("QA_FUSION_WEIGHT", "heavy", r"QA_FUSION_WEIGHT='heavy' is not a number from 0 to 1"),
    ("QA_FUSION_WEIGHT", "-0.1", r"QA_FUSION_WEIGHT='-0.1' is not a number from 0 to 1"),
])
def test_a_bad_environment_variable_is_named(settings_file, monkeypatch, env, value, expected):
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=expected):
        config.load_settings()


def test_an_unreadable_file_is_named(settings_file):
    settings_file.write_bytes(b'index = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match=r"settings file .*config\.toml cannot be read"):
        config.load_settings()


def test_the_index_path_comes_from_the_file(settings_file, seed_index, capsys):
    """A command with no --index and no $QA_INDEX uses the file's index."""
    settings_file.write_text(f'index = "{seed_index}"\n', encoding="utf-8")
    assert main(["search", "Katrina Yu", "--mode", "bm25", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"]


def test_only_config_reads_the_settings_file():
    """One owner per rule: no other module parses TOML or reads $XDG_CONFIG_HOME."""
    root = Path(config.__file__).parent
    for path in root.rglob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "import toml" not in text and 'environ.get("XDG_CONFIG_HOME' not in text, path


# --- files that are not what they seem (issue 22) ------------------------------------------
def run_config_command(env_home: Path) -> subprocess.CompletedProcess:
    """`qa config` in a child process with 1 GB of address space and a deadline: a settings
    file that blocks or never ends must neither hang the test nor eat the machine."""
    # The child sets its own limit before qa starts: a preexec_fn would run in a fork of this
    # process, whose gRPC threads (left by the store tests) abort a forked child.
    child = ("import resource, runpy; "
             "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
             "runpy.run_module('qa.cli', run_name='__main__')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env["XDG_CONFIG_HOME"] = str(env_home)
    try:
        return subprocess.run([sys.executable, "-c", child, "config"], capture_output=True,
                              text=True, timeout=60, env=env,
                              cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired:
        pytest.fail("qa config hung on the settings file")


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
def test_a_settings_file_that_is_not_a_regular_file_is_refused(settings_file, kind):
    if kind == "fifo":
        os.mkfifo(settings_file)
    else:
        os.symlink("/dev/zero", settings_file)
    done = run_config_command(settings_file.parent.parent)
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr and str(settings_file) in done.stderr


def test_a_settings_file_written_with_a_byte_order_mark_is_read(settings_file):
    settings_file.write_bytes('\ufeffindex = "/srv/news-index"\n'.encode("utf-8"))
    assert config.load_settings().index == Path("/srv/news-index")


@pytest.mark.parametrize("text", [
    "index = " + "[" * 5000 + "]" * 5000 + "\n",                  # nested past the parser
    "index = [" + ", ".join(['"' + "x" * 50 + '"'] * 12000) + "]\n",  # a 650 KB value
    "index = \"" + "x" * 600_000 + "\n",                           # a 600 KB broken line
], ids=["nested", "huge-value", "huge-line"])
def test_a_huge_or_deeply_nested_value_gives_a_short_message(settings_file, text):
    settings_file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load_settings()
    assert len(str(caught.value)) < 600, len(str(caught.value))
    assert str(settings_file) in str(caught.value)


def test_relative_dates_is_today_or_the_newest_article(settings_file, monkeypatch):
    assert config.relative_dates() == "today"
    settings_file.write_text('relative_dates = "newest-article"\n', encoding="utf-8")
    assert config.relative_dates() == "newest-article"
    monkeypatch.setenv("QA_RELATIVE_DATES", "yesterday")
    with pytest.raises(ConfigError, match=r"relative_dates = 'yesterday' \(QA_RELATIVE_DATES\) "
                                          r"is not one of today, newest-article"):
        config.relative_dates()


def test_runtime_and_store_are_two_settings(settings_file, monkeypatch):
    """One word (`backend`) used to name either the embedding runtime or the search store."""
    settings_file.write_text('runtime = "onnx"\nstore = "milvus"\n', encoding="utf-8")
    assert (config.embedding_runtime(), config.search_store()) == ("onnx", "milvus")
    monkeypatch.setenv("QA_RUNTIME", "torch")
    monkeypatch.setenv("QA_STORE", "local")
    assert (config.embedding_runtime(), config.search_store()) == ("torch", "local")
    assert (config.embedding_runtime("openvino"), config.search_store("milvus")) == (
        "openvino", "milvus")
    settings_file.write_text("", encoding="utf-8")
    monkeypatch.delenv("QA_RUNTIME")
    monkeypatch.delenv("QA_STORE")
    assert (config.embedding_runtime(), config.search_store()) == (None, None)


@pytest.mark.parametrize("env, new", [("QA_BACKEND", "QA_STORE"),
                                      ("QA_BUILD_BACKEND", "QA_RUNTIME")])
def test_the_old_backend_variables_are_refused_with_the_new_names(settings_file, monkeypatch,
                                                                  capsys, env, new):
    monkeypatch.setenv(env, "milvus")
    with pytest.raises(ConfigError, match=f"{env} is no longer read.*runtime.*store.*Set {new}"):
        config.load_settings()
    with pytest.raises(ConfigError, match=new):
        config.search_store()
    assert main(["config"]) == 2
    assert new in capsys.readouterr().err


def test_the_old_backend_setting_is_refused_with_the_new_names(settings_file):
    settings_file.write_text('backend = "milvus"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 1: `backend` is now two settings: `runtime` "
                                          r".*`store`.*store = \"milvus\""):
        config.load_settings()
