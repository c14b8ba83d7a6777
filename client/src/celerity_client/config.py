"""Which API the command talks to, and with which token; the first of these that applies:

1. `--url` and `--token` (or `CELERITY_URL` and `CELERITY_TOKEN`);
2. a profile named by `--profile` or `CELERITY_PROFILE`, from the profile file;
3. the local stack while `make run` is up: `.run/stack.json` (and `.run/api-token`) in the current directory or the
   nearest one above it that has them, or in `CELERITY_RUN_DIR` if set;
4. the profile file's `default` profile.

The profile file is `CELERITY_CONFIG`, else `$XDG_CONFIG_HOME/celerity/config.toml` (`~/.config/...`), TOML with one
table per profile:

    [default]
    url = "https://celerity.example.com"
    token_file = "~/.config/celerity/token"   # or: token = "..."

A token is never taken from one place for a URL from another: an explicit URL needs an explicit token (or a named
profile's), so a local token is never sent to a remote server.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from celerity_client.errors import ConfigError

RUN_DIR, STACK_FILE, TOKEN_FILE = ".run", "stack.json", "api-token"


@dataclass(frozen=True)
class Connection:
    url: str
    token: str
    source: str  # where they came from, for messages: "CELERITY_URL", "profile prod (~/.config/...)", ...


def resolve(
    *,
    url: str | None = None,
    token: str | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Connection:
    env = os.environ if env is None else env
    url, token = url or env.get("CELERITY_URL") or None, token or env.get("CELERITY_TOKEN") or None
    profile = profile or env.get("CELERITY_PROFILE") or None
    path = profile_file(env)
    if profile is not None:
        found = _profile(path, profile, required=True)
        assert found is not None
        return Connection(url or found.url, token or found.token, found.source)
    if url is not None:
        if token is None:
            raise ConfigError(f"{url} needs a token: set CELERITY_TOKEN or pass --token")
        return Connection(url, token, "--url/CELERITY_URL")
    found = local_stack(cwd or Path.cwd(), env) or _profile(path, "default", required=False)
    if found is None:
        raise ConfigError(
            "no Celerity API to talk to: set CELERITY_URL and CELERITY_TOKEN, add a [default] profile to "
            f"{_home(path)}, or start `make run` (found from this directory or any above it)"
        )
    return Connection(found.url, token or found.token, found.source)


def profile_file(env: Mapping[str, str]) -> Path:
    if configured := env.get("CELERITY_CONFIG"):
        return Path(configured).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "celerity" / "config.toml"


def _profile(path: Path, name: str, *, required: bool) -> Connection | None:
    try:
        profiles = tomllib.loads(path.read_text())
    except FileNotFoundError:
        if required:
            raise ConfigError(f"no profile {name!r}: {_home(path)} does not exist") from None
        return None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {_home(path)}: {exc}") from None
    entry = profiles.get(name)
    if not isinstance(entry, dict):
        if required:
            known = ", ".join(sorted(k for k, v in profiles.items() if isinstance(v, dict))) or "none"
            raise ConfigError(f"no profile {name!r} in {_home(path)} (profiles: {known})")
        return None
    source = f"profile {name} ({_home(path)})"
    if not isinstance(entry.get("url"), str):
        raise ConfigError(f"{source} has no url")
    token = entry.get("token")
    if not isinstance(token, str) and isinstance(entry.get("token_file"), str):
        token_path = Path(entry["token_file"]).expanduser()
        try:
            token = token_path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read token_file {token_path}: {exc.strerror}") from None
    if not isinstance(token, str) or not token:
        raise ConfigError(f"{source} has no token (token or token_file)")
    return Connection(entry["url"], token, source)


def local_stack(cwd: Path, env: Mapping[str, str]) -> Connection | None:
    """The stack `make run` describes in its run directory while it is up (it removes stack.json when it stops)."""
    if configured := env.get("CELERITY_RUN_DIR"):
        candidates = [Path(configured).expanduser()]
    else:
        candidates = [directory / RUN_DIR for directory in (cwd.resolve(), *cwd.resolve().parents)]
    for rundir in candidates:
        try:
            info = json.loads((rundir / STACK_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or not isinstance(info.get("api_url"), str):
            continue
        token = info.get("token")
        if not isinstance(token, str) or not token:
            try:
                token = (rundir / TOKEN_FILE).read_text().strip()
            except OSError:
                continue
        return Connection(info["api_url"], token, f"the local stack ({rundir / STACK_FILE})")
    return None


def _home(path: Path) -> str:
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home) :] if text.startswith(home + os.sep) else text
