"""The failure notification on a Prefect server: a webhook block and the automations that send to it.

The automations are defined in deployments/automations.yaml, in Prefect's own format, except that the
notification action names the webhook block (WEBHOOK_BLOCK) where Prefect wants its id: the id is known only once
the block is saved on the server, so it is put in here.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import yaml

from segflow.errors import ConfigError

log = logging.getLogger(__name__)

WEBHOOK_BLOCK = "segflow-alert-webhook"
AUTOMATIONS_FILE = Path("deployments") / "automations.yaml"


@dataclasses.dataclass(eq=False)
class AutomationsFileError(ConfigError):
    """The automations file is missing or not what Prefect accepts; `problem` says what, `automation` which one."""

    path: str
    problem: str
    automation: str | None = None

    def __str__(self) -> str:
        which = f"automation {self.automation!r} is invalid: " if self.automation is not None else ""
        return f"automations file {self.path}: {which}{self.problem}"


def save_webhook_block(url: str) -> UUID:
    """Save `url` as the Custom Webhook block WEBHOOK_BLOCK (replacing an earlier one); returns its id.

    Prefect POSTs JSON with the notification's subject and body, and both in `text`, which Slack's and
    Mattermost's incoming webhooks display as they are. The URL is kept among the block's secrets, so the UI masks
    it (webhook URLs often carry a token).
    """
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.types import SecretDict

    if not url.startswith(("http://", "https://")):
        raise ValueError(f"SEGFLOW_ALERT_WEBHOOK_URL must be an http(s):// URL, got {url.split(':', 1)[0]!r}:...")
    block = CustomWebhookNotificationBlock(
        name="segflow",
        url="{{webhook_url}}",
        json_data={"subject": "{{subject}}", "body": "{{body}}", "text": "{{subject}}\n{{body}}"},
        headers=None,
        cookies=None,
        secrets=SecretDict({"webhook_url": url}),
    )
    # save() is sync here (called outside an event loop); its annotation covers the async use too.
    return cast(UUID, block.save(WEBHOOK_BLOCK, overwrite=True))


def automations_from_file(path: Path, webhook_block_id: UUID) -> list[Any]:
    """The automations of `path` (Prefect AutomationCore objects), their notifications sent to the webhook block."""
    from prefect.events.schemas.automations import AutomationCore
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise AutomationsFileError(str(path), f"cannot be read ({exc.strerror})") from exc
    entries = data.get("automations") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise AutomationsFileError(str(path), "needs a list under `automations:`")
    automations = []
    for entry in entries:
        for action in entry.get("actions", []):
            if action.get("block_document_id") == WEBHOOK_BLOCK:
                action["block_document_id"] = str(webhook_block_id)
        try:
            automations.append(AutomationCore.model_validate(entry))
        except ValidationError as exc:
            name = entry.get("name", "?")
            raise AutomationsFileError(str(path), str(exc), name) from exc
    return automations


def apply_automations(automations: list[Any]) -> dict[str, UUID]:
    """Create the automations on the Prefect API, each replacing those of its name; returns their ids by name."""
    from prefect.client.orchestration import get_client

    created: dict[str, UUID] = {}
    with get_client(sync_client=True) as client:
        for automation in automations:
            for earlier in client.read_automations_by_name(automation.name):
                client.delete_automation(earlier.id)
            created[automation.name] = client.create_automation(automation)
    return created


def remove_automations(names: list[str]) -> int:
    """Delete the automations of these names from the Prefect API; returns how many there were."""
    from prefect.client.orchestration import get_client

    removed = 0
    with get_client(sync_client=True) as client:
        for name in names:
            for automation in client.read_automations_by_name(name):
                client.delete_automation(automation.id)
                removed += 1
    return removed
