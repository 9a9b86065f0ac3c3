"""The config file's side of the endpoint keys this issue adds: headers (with webhook.headers as
the default), signing_key, propagate_trace. Same rules as the API, errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.config import ConfigError, Settings, load_settings
from services.signing_keys import new_signing_key


def _load(tmp_path: Path, webhook: dict[str, object]) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"webhook": webhook}))
    return load_settings(str(path), env={"TENANT": "t-42"})


def test_endpoint_headers_override_the_webhook_default_case_insensitively(tmp_path: Path) -> None:
    key = new_signing_key()
    settings = _load(
        tmp_path,
        {
            "url": "http://127.0.0.1:9/default",
            "headers": {"X-Tenant": "everyone", "X-Env": "prod"},
            "endpoints": [
                {
                    "name": "billing",
                    "url": "http://127.0.0.1:9/billing",
                    "headers": {"x-tenant": "${TENANT}"},
                    "signing_key": key,
                    "propagate_trace": True,
                }
            ],
        },
    )
    default, billing = settings.webhook.endpoints
    assert dict(default.headers) == {"X-Tenant": "everyone", "X-Env": "prod"}
    assert dict(billing.headers) == {"X-Env": "prod", "x-tenant": "t-42"}
    assert billing.signing_key == key and billing.propagate_trace is True
    assert default.source == billing.source == "config"


@pytest.mark.parametrize(
    ("webhook", "key", "words"),
    [
        (
            {"endpoints": [{"name": "b", "url": "http://127.0.0.1:9/", "headers": {"Host": "x"}}]},
            "webhook.endpoints[0].headers",
            "Host is set by wg-webhooks",
        ),
        (
            {"url": "http://127.0.0.1:9/", "headers": {"Webhook-Id": "x"}},
            "webhook.headers",
            "Webhook-Id is set by wg-webhooks",
        ),
        (
            {
                "url": "http://127.0.0.1:9/",
                "authentication": "a",
                "headers": {"authorization": "b"},
            },
            "webhook.headers",
            "Authorization is sent from authentication",
        ),
        (
            {"endpoints": [{"name": "b", "url": "http://127.0.0.1:9/", "signing_key": "whsk_!"}]},
            "webhook.endpoints[0].signing_key",
            "whsk_",
        ),
        (
            {"url": "http://127.0.0.1:9/", "headers": {"Bad Name": "x"}},
            "webhook.headers",
            "not a valid header name",
        ),
    ],
)
def test_refused_header_or_key_stops_start_up_naming_it(
    tmp_path: Path, webhook: dict[str, object], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, webhook)
    assert refused.value.key == key
    assert words in str(refused.value)
