"""Path templates of the endpoints we call (`{id}` is the application id in the path)."""

from __future__ import annotations

STATUS = "/v1/status"
APPLICATIONS = "/v1/application"
APPLICATION_STATS = "/v1/application/stats"
DATE_STATS = "/v1/application/{id}/dateStats"
PUSH_HEATMAP = "/v1/application/{id}/pushHeatmap"
DEVICE_STATS = "/v1/application/{id}/stats/device"
CAMPAIGNS = "/v1/campaign"
CONTACTS = "/v1/chat/contacts"
HISTORY_CSV = "/v1/chat/history/csv"
AGENT_CONVERSATIONS = "/v1/chat/agent/conversations"
AGENT_STATUS = "/v1/chat/agent/status"
CHAT_CHANNEL = "/v1/chat/channel"
CHAT_CONFIGURATION = "/v1/chat/configuration"
CHAT_TOPIC = "/v1/chat/topic"
CHAT_INTEGRATION = "/v1/chat/integration"
SMS_STATS = "/v2/sms/stats/application"
SMS_CAMPAIGNS = "/v2/sms/campaign"
SMS_SENDS = "/v2/sms/send"
EMAIL_STATS = "/v1/email/stats"
INAPP_STATS = "/v1/inApp/stats"

CHAT_METADATA = {
    "channel": CHAT_CHANNEL,
    "configuration": CHAT_CONFIGURATION,
    "topic": CHAT_TOPIC,
    "integration": CHAT_INTEGRATION,
}


def fill(template: str, path_params: dict[str, object] | None = None) -> str:
    """The concrete path of a template (`{id}` → the application id)."""
    return template.format(**{k: str(v) for k, v in (path_params or {}).items()}) if path_params else template
