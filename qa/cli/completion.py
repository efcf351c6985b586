"""`qa completion SHELL`: a completion script for bash, zsh or fish, written from the parser
itself (its commands, their flags and the flags' choices), so it never falls behind."""

from __future__ import annotations

import argparse

EXAMPLES = """\
examples:
  source <(qa completion bash)              # bash, now; add it to ~/.bashrc to keep it
  source <(qa completion zsh)               # zsh, after compinit
  qa completion fish | source               # fish"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh, fish)",
                       epilog=EXAMPLES)
    p.add_argument("shell", choices=list(SCRIPTS))
    p.set_defaults(func=completion)


def completion(args: argparse.Namespace) -> int:
    from . import build_parser, subcommands  # the package imports this module: not at the top

    print(SCRIPTS[args.shell](subcommands(build_parser())), end="")
    return 0


def _options_of(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """A command's flags that are meant to be seen, --help among them."""
    return [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]


def _long(action: argparse.Action) -> str:
    return max(action.option_strings, key=len)


def _takes_folder(action: argparse.Action) -> bool:
    return _long(action) in ("--index", "--corpus", "--beir")


def bash_script(commands: dict[str, argparse.ArgumentParser]) -> str:
    """The bash script: commands first, then a command's flags, a flag's choices, folders."""
    cases = []
    for name, sub in commands.items():
        # --help is left out here: the script offers it beside every command's flags below.
        flags = " ".join(_long(a) for a in _options_of(sub) if _long(a) != "--help")
        cases.append(f'        {name}) opts="{flags}" ;;')
        for a in _options_of(sub):
            if a.choices:
                choices = " ".join(map(str, a.choices))
                cases.insert(0, f'        {name}:{_long(a)}) COMPREPLY=($(compgen -W "{choices}" -- "$cur")); return ;;')
        for a in sub._actions:
            if not a.option_strings and a.choices:
                choices = " ".join(map(str, a.choices))
                cases.insert(0, f'        {name}:) COMPREPLY=($(compgen -W "{choices}" -- "$cur")); return ;;')
    choice_cases = "\n".join(c for c in cases if ":" in c.split(")")[0])
    flag_cases = "\n".join(c for c in cases if ":" not in c.split(")")[0])
    return f"""\
# qa completion for bash. Load it now:  source <(qa completion bash)
# or for good:  qa completion bash > ~/.local/share/bash-completion/completions/qa
_qa() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local cmd="${{COMP_WORDS[1]}}" opts=""
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{' '.join(commands)} --help --version" -- "$cur"))
        return
    fi
    case "$prev" in
        --index|--corpus|--beir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    esac
    local key="$cmd:$prev"
    [ "$COMP_CWORD" -eq 2 ] && key="$cmd:"
    case "$key" in
{choice_cases}
    esac
    case "$cmd" in
{flag_cases}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
    fi
}}
complete -o default -F _qa qa
"""


def _zsh_spec(a: argparse.Action) -> str:
    """One flag as an `_arguments` spec: '--flag[what it does]:value:(choices)'."""
    text = (a.help or "").split(" (")[0].replace("'", "").replace("[", "(").replace("]", ")")
    text = text.replace(":", " ").replace("%", "%%")
    head = f"{_long(a)}[{text}]"
    if a.nargs == 0:
        return f"'{head}'"
    if a.choices:
        return f"'{head}:value:({' '.join(map(str, a.choices))})'"
    if _takes_folder(a):
        return f"'{head}:folder:_files -/'"
    return f"'{head}:value:'"


def zsh_script(commands: dict[str, argparse.ArgumentParser]) -> str:
    """The zsh script: described commands, then `_arguments` per command."""
    described = "\n".join(
        f"    '{name}:{(sub.description or '').replace(chr(39), '').replace(':', ' ')}'"
        for name, sub in commands.items())
    cases = []
    for name, sub in commands.items():
        specs = [_zsh_spec(a) for a in _options_of(sub) if _long(a) != "--help"]
        for a in sub._actions:
            if not a.option_strings:
                values = f"({' '.join(map(str, a.choices))})" if a.choices else ""
                specs.append(f"'1:{a.dest}:{values}'")
        cases.append(f"    {name}) _arguments {' '.join(specs)} ;;")
    return f"""\
#compdef qa
# qa completion for zsh. Load it now:  source <(qa completion zsh)   (after compinit)
# or for good:  qa completion zsh > "${{fpath[1]}}/_qa"
_qa() {{
  local -a commands
  commands=(
{described}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  shift words; (( CURRENT-- ))
  case $words[1] in
{chr(10).join(cases)}
  esac
}}
if [ "$funcstack[1]" = "_qa" ]; then _qa "$@"; else compdef _qa qa; fi
"""


def fish_script(commands: dict[str, argparse.ArgumentParser]) -> str:
    """The fish script: one `complete` line per command, flag and positional choice."""
    lines = ["# qa completion for fish. Load it now:  qa completion fish | source",
             "# or for good:  qa completion fish > ~/.config/fish/completions/qa.fish",
             "complete -c qa -f",
             "complete -c qa -n __fish_use_subcommand -l version -d 'print the version'"]
    for name, sub in commands.items():
        about = (sub.description or "").replace("'", "")
        lines.append(f"complete -c qa -n __fish_use_subcommand -a {name} -d '{about}'")
        for a in _options_of(sub):
            if _long(a) == "--help":
                continue
            text = (a.help or "").split(" (")[0].replace("'", "")
            rest = ""
            if a.choices:
                rest = f" -x -a '{' '.join(map(str, a.choices))}'"
            elif _takes_folder(a):
                rest = " -r -a '(__fish_complete_directories)'"
            elif a.nargs != 0:
                rest = " -r"
            lines.append(f"complete -c qa -n '__fish_seen_subcommand_from {name}' "
                         f"-l {_long(a)[2:]} -d '{text}'{rest}")
        for a in sub._actions:
            if not a.option_strings and a.choices:
                lines.append(f"complete -c qa -n '__fish_seen_subcommand_from {name}' "
                             f"-a '{' '.join(map(str, a.choices))}'")
    return "\n".join(lines) + "\n"


SCRIPTS = {"bash": bash_script, "zsh": zsh_script, "fish": fish_script}
