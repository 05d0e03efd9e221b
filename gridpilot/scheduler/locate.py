"""Find a scheduler's state directory and its control API, for the commands that talk to a
running ``gridpilot run`` (``gridpilot override``, ``gridpilot log``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gridpilot.scheduler.control import CONTROL_FILE, ControlError, read_token

__all__ = ["ControlEndpoint", "find_control", "resolve_state_dir", "state_dir_for_policy"]

STATE_DIR_ENV = "GRIDPILOT_STATE_DIR"


class _Placeholders(Mapping[str, str]):
    """The environment, with a placeholder for every variable that is not set."""

    def __getitem__(self, key: str) -> str:
        return os.environ.get(key, "unset")

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


def state_dir_for_policy(policy_path: Path, state_dir: str) -> Path:
    """``run.state_dir`` is relative to the policy file's folder."""
    p = Path(state_dir).expanduser()
    return p if p.is_absolute() else Path(policy_path).resolve().parent / p


def resolve_state_dir(state_dir: str | None, policy: str | None) -> Path:
    """The state directory from ``--state-dir``, else ``--policy``, else ``$GRIDPILOT_STATE_DIR``,
    else ``./.gridpilot``."""
    if state_dir:
        return Path(state_dir).expanduser()
    if policy:
        from gridpilot.rules.loader import load_policy_doc

        # Only run.state_dir is needed: secrets the policy takes from the environment need not
        # be set just to find the running instance.
        doc, _smap, _data = load_policy_doc(policy, environ=_Placeholders())
        return state_dir_for_policy(Path(policy), doc.run.state_dir)
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(".gridpilot")


@dataclass(frozen=True)
class ControlEndpoint:
    url: str
    socket: str | None
    token: str

    def __repr__(self) -> str:
        return f"ControlEndpoint(url={self.url!r}, socket={self.socket!r})"


def find_control(state_dir: Path) -> ControlEndpoint:
    """Where the running instance of ``state_dir`` listens, with its token."""
    info_path = state_dir / CONTROL_FILE
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ControlError(
            f"no running gridpilot found: {info_path} does not exist; start `gridpilot run "
            "POLICY`, or point to its state with --policy or --state-dir"
        ) from None
    except (OSError, ValueError) as exc:
        raise ControlError(f"{info_path}: unreadable ({exc})") from None
    if not isinstance(info, dict):
        raise ControlError(f"{info_path}: not a control file of `gridpilot run` (expected a JSON "
                           "object); restart the scheduler to rewrite it")
    token_file = Path(str(info.get("token_file") or state_dir / "control.token"))
    token = read_token(token_file)
    socket = info.get("socket")
    url = str(info.get("url") or "http://gridpilot")
    return ControlEndpoint(url=url, socket=str(socket) if socket else None, token=token)
