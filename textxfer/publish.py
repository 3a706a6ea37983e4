"""Push a saved model folder to the Hugging Face Hub (``--push-to-hub REPO_ID``).

Every model folder textxfer writes is a Hub repository as it is: weights, tokenizer, the model card
``README.md`` (``textxfer.card``), ``config.yaml`` and the run marker. ``push_to_hub`` creates the
repository when needed and uploads the folder in one commit with ``huggingface_hub.HfApi``; the
token is huggingface_hub's (``hf auth login`` or ``HF_TOKEN``).

>>> from textxfer.publish import push_to_hub
>>> push_to_hub("runs/lora", "me/subj-lora")        # doctest: +SKIP
'https://huggingface.co/me/subj-lora'
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .config import Args, field
from .errors import ConfigError, TextxferError

logger = logging.getLogger(__name__)

PUSHABLE = ("finetune", "adapted", "baseline")  # run kinds that are model folders
IGNORE = ["checkpoints/**", "logs/**", "**/.*.tmp*", "**/.*.old-*"]

__all__ = ["HubArgs", "HubError", "push_to_hub"]


class HubError(TextxferError, ConnectionError):
    """The Hub refused an upload, or cannot be reached."""


@dataclass
class HubArgs(Args):
    """Where a saved model folder is published on the Hugging Face Hub (optional)."""

    push_to_hub: str | None = field(
        None, help="after saving, upload the folder to this Hub model repo (owner/name)"
    )
    hub_private: bool = field(False, help="create the Hub repo as private")

    def validate(self) -> None:
        repo = self.push_to_hub
        if repo is not None and (repo.count("/") != 1 or not all(repo.split("/"))):
            raise ConfigError(
                f"--push-to-hub takes a Hub repo id owner/name, found {repo!r}; e.g. "
                "--push-to-hub me/subj-lora"
            )


def push_to_hub(folder: str | os.PathLike, repo_id: str, *, private: bool = False, api=None) -> str:
    """Upload a textxfer model folder to the Hub model repo ``repo_id``; return its URL.

    Args:
        folder: a folder written by ``finetune``, ``adapt`` or ``baseline`` (it has a model card).
        repo_id: ``owner/name``; created (``exist_ok``) when missing.
        private: create the repo as private.
        api: a ``huggingface_hub.HfApi`` (default: a new one; tests pass a mock).

    Raises:
        ConfigError: not a model folder.
        HubError: offline, or the Hub refused (with its message).
    """
    from .io import read_run_info

    folder = Path(folder)
    kind = (read_run_info(folder) or {}).get("kind")
    if kind not in PUSHABLE:
        raise ConfigError(
            f"{folder} is not a textxfer model folder (kind {kind!r}, expected one of "
            f"{list(PUSHABLE)}); push the --out folder of finetune, adapt or baseline"
        )
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise HubError(f"cannot push {folder} to {repo_id}: HF_HUB_OFFLINE is set; unset it")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(
            folder_path=str(folder), repo_id=repo_id, repo_type="model",
            commit_message=f"textxfer {kind} model", ignore_patterns=IGNORE,
        )  # fmt: skip
    except Exception as err:  # noqa: BLE001 - network, auth and Hub errors: one message
        raise HubError(
            f"could not push {folder} to the Hub repo {repo_id} ({type(err).__name__}: {err}); "
            "check the repo id and your token (`hf auth login`, or HF_TOKEN)"
        ) from err
    url = f"https://huggingface.co/{repo_id}"
    logger.info("pushed %s to %s", folder, url)
    return url
