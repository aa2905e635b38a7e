"""Campaigns of the simulated tenant: push campaigns and SMS (stats, campaigns, sends)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lib.simulator import texts
from lib.simulator.data._common import (
    DateLike,
    _days,
    json_ts,
)
from lib.simulator.data.contacts import ContactsData


class CampaignsData(ContactsData):
    """Push campaigns and the SMS endpoints."""

    def campaigns(self) -> list[dict[str, Any]]:
        """`/v1/campaign` items (ordered by id), some with < 100 and some with 0 sent."""
        rng = self._r("campaigns")
        start = int(datetime(2025, 12, 1, tzinfo=UTC).timestamp()) * 1000
        out = []
        cid = rng.randint(30_000, 60_000)
        for i in range(max(10, round(48 * min(self.scale, 5.0)))):
            cid += rng.randint(1, 40)
            channel = rng.choices(("push", "sms", "email", "inapp"), (6, 2, 1, 1))[0]
            created = start + rng.randrange(360 * 86_400_000)
            u = rng.random()
            status = "draft" if u < 0.08 else "scheduled" if u < 0.15 else "sent" if u < 0.85 else "finished"
            if status in ("draft", "scheduled"):
                sent = 0
            elif i % 9 == 4:
                sent = rng.randint(1, 99)
            else:
                sent = round(rng.randint(500, 60_000) * self.scale)
            delivered = round(sent * rng.uniform(0.8, 0.98))
            opened = round(delivered * rng.uniform(0.2, 0.6))
            clicked = round(opened * rng.uniform(0.02, 0.2))
            send = None if status == "draft" else created + rng.randrange(10 * 86_400_000)
            end = send + rng.randrange(1, 3 * 86_400_000) if send and status != "scheduled" else None
            out.append(
                {
                    "id": cid,
                    "name": f"{rng.choice(texts.CAMPAIGN_THEMES)} #{i + 1}",
                    "channel": channel,
                    "status": status,
                    "createdAt": json_ts(created),
                    "sendDate": json_ts(send),
                    "endDate": json_ts(end),
                    "stats": {"sent": sent, "delivered": delivered, "clicked": clicked, "opened": opened},
                }
            )
        return out

    def sms_stats(self, date_from: DateLike, date_to: DateLike) -> list[dict[str, Any]]:
        out = []
        for day in _days(date_from, date_to):
            rng = self._r("sms", day.isoformat())
            sent = (
                round(rng.randint(200, 3_000) * self.scale) if day.weekday() < 5 and rng.random() < 0.6 else 0
            )
            chunks = sent + round(sent * rng.uniform(0.0, 0.4))
            out.append(
                {
                    "statsDate": day.isoformat(),
                    "numContactsSent": sent,
                    "numContactsClicked": round(sent * rng.uniform(0.0, 0.05)),
                    "totalChunks": chunks,
                    "cost": round(chunks * 0.0042, 2),
                }
            )
        return out

    def sms_campaigns(self) -> list[dict[str, Any]]:
        return [
            {
                "id": c["id"],
                "name": c["name"],
                "status": c["status"],
                "createdAt": c["createdAt"],
                "sendDate": c["sendDate"],
                "numContactsSent": c["stats"]["sent"],
                "numContactsClicked": c["stats"]["clicked"],
            }
            for c in self.campaigns()
            if c["channel"] == "sms"
        ]

    def sms_sendings(self) -> list[dict[str, Any]]:
        rng = self._r("sms-sendings")
        camps = self.sms_campaigns() or [{"id": None, "sendDate": json_ts(0)}]
        contacts = self.contacts_list
        out = []
        sid = rng.randint(700_000, 800_000)
        for _ in range(round(300 * min(self.scale, 10.0))):
            sid += rng.randint(1, 9)
            camp = rng.choice(camps)
            chunks = rng.choice((1, 1, 1, 2))
            out.append(
                {
                    "id": sid,
                    "campaignId": camp["id"],
                    "phone": rng.choice(contacts).contact_id,
                    "status": rng.choice(("DELIVERED", "DELIVERED", "DELIVERED", "SENT", "FAILED")),
                    "createdAt": camp["sendDate"],
                    "chunks": chunks,
                    "cost": round(chunks * 0.0042, 4),
                }
            )
        return out
