"""Push of the simulated tenant: applications, their stats, daily stats, heatmap, devices."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from lib.simulator.data._common import (
    _HOUR_CUM,
    _HOUR_WEIGHTS,
    HEATMAP_HOURS,
    PLATFORMS,
    WEEKDAYS,
    DateLike,
    _days,
    _uuid,
    as_date,
    json_ts,
)
from lib.simulator.data.campaigns import CampaignsData


class PushData(CampaignsData):
    """The push endpoints (application stats count campaigns)."""

    def applications(self) -> list[dict[str, Any]]:
        rng = self._r("app")
        app_id = int(self.application_id) if self.application_id.isdigit() else self.application_id
        return [
            {
                "id": app_id,
                "createdAt": json_ts(
                    int(datetime(2023, 5, 2, tzinfo=UTC).timestamp() * 1000) + rng.randrange(86_400_000 * 300)
                ),
                "name": f"{self.tenant_id.upper()} PROD",
                "logoFile": None,
                "monochromeLogoFile": None,
                "monochromeLogoColor": "#0A3D91",
                "publicKey": _uuid(rng),
                "androidEnabled": True,
                "iosEnabled": True,
                "webpushEnabled": True,
                "safariEnabled": False,
                "harmonyEnabled": False,
                "deleteDevicesConfiguration": {},
                "pushLocationEnabled": False,
                "chatEnabled": True,
            }
        ]

    def application_stats(self) -> dict[str, Any]:
        rng = self._r("app-stats")
        camps = self.campaigns()
        sent = sum(1 for c in camps if c["stats"]["sent"] > 0)
        s = self.scale
        return {
            "id": self.applications()[0]["id"],
            "name": self.applications()[0]["name"],
            "campaigns": {
                "sent": sent,
                "scheduled": sum(1 for c in camps if c["status"] == "scheduled"),
                "welcome": 1,
                "fidelity": rng.randint(0, 3),
                "goefencing": 0,
                "network": 0,
            },
            "devices": {
                "android": round(rng.randint(40_000, 60_000) * s),
                "ios": round(rng.randint(12_000, 20_000) * s),
                "webpush": round(rng.randint(2_000, 5_000) * s),
                "safari": 0,
            },
            "impacts": {
                "total": round(rng.randint(2_000_000, 3_000_000) * s),
                "today": round(rng.randint(0, 30_000) * s),
                "lastWeek": round(rng.randint(60_000, 120_000) * s),
                "lastMonth": round(rng.randint(250_000, 400_000) * s),
            },
        }

    def _push_day(self, day: date) -> dict[str, tuple[int, int, int, int]]:
        rng = self._r("push", day.isoformat())
        weekday = day.weekday()
        u = rng.random()
        if weekday < 5 and u < 0.55:
            base = rng.randint(8_000, 30_000)
        elif u < 0.7:
            base = rng.randint(20, 400)
        else:
            base = 0
        out = {}
        for platform, share in zip(PLATFORMS, (1.0, 0.35, 0.08), strict=True):
            sent = round(base * share * rng.uniform(0.9, 1.1) * self.scale)
            success = round(sent * rng.uniform(0.85, 0.98))
            received = round(success * rng.uniform(0.35, 0.75))
            clicked = round(received * rng.uniform(0.01, 0.08))
            out[platform] = (sent, success, received, clicked)
        return out

    def date_stats(
        self, date_from: DateLike, date_to: DateLike, periodicity: str = "daily"
    ) -> list[dict[str, Any]]:
        """dateStats rows: one per date x platform (android, ios, web); zeros on quiet days.

        `periodicity="hourly"` [ours]: one row per date x hour x platform, with a `statsHour`.
        """
        out: list[dict[str, Any]] = []
        for day in _days(date_from, date_to):
            stats = self._push_day(day)
            if periodicity == "hourly":
                for hour in range(24):
                    share = _HOUR_WEIGHTS[hour] / _HOUR_CUM[-1]
                    for p in PLATFORMS:
                        sent, success, received, clicked = (math.floor(v * share) for v in stats[p])
                        out.append(
                            {
                                "platformGroup": p,
                                "statsDate": day.isoformat(),
                                "statsHour": hour,
                                "numDevicesSent": sent,
                                "numDevicesSuccess": success,
                                "numDevicesReceived": received,
                                "numDevicesClicked": clicked,
                            }
                        )
                continue
            for p in PLATFORMS:
                sent, success, received, clicked = stats[p]
                out.append(
                    {
                        "platformGroup": p,
                        "statsDate": day.isoformat(),
                        "numDevicesSent": sent,
                        "numDevicesSuccess": success,
                        "numDevicesReceived": received,
                        "numDevicesClicked": clicked,
                    }
                )
        return out

    def push_heatmap(self, date_from: DateLike, date_to: DateLike) -> dict[str, Any]:
        """pushHeatmap `data`: click rates 0..1 (4 decimals) by hour "8".."22" and weekday."""
        base = self._r("heatmap-base")
        hour_f = {
            h: base.uniform(0.6, 1.0) * (1.5 if h in ("12", "13", "18", "19", "20") else 1.0)
            for h in HEATMAP_HOURS
        }
        day_f = {w: base.uniform(0.8, 1.2) * (0.7 if w in ("saturday", "sunday") else 1.0) for w in WEEKDAYS}
        level = base.uniform(0.015, 0.03)
        rng = self._r("heatmap", as_date(date_from).isoformat(), as_date(date_to).isoformat())
        grid = {
            w: {h: min(1.0, level * day_f[w] * hour_f[h] * rng.uniform(0.8, 1.2)) for h in HEATMAP_HOURS}
            for w in WEEKDAYS
        }
        return {
            "heatmap": "general",
            "hour": {h: round(sum(grid[w][h] for w in WEEKDAYS) / 7, 4) for h in HEATMAP_HOURS},
            "weekday": {w: round(sum(grid[w].values()) / len(HEATMAP_HOURS), 4) for w in WEEKDAYS},
            "weekday-hour": {w: {h: round(v, 4) for h, v in grid[w].items()} for w in WEEKDAYS},
        }

    def device_stats(self, date_from: DateLike, date_to: DateLike) -> list[dict[str, Any]]:
        """stats/device rows [ours]: one per date x platform."""
        out = []
        for day in _days(date_from, date_to):
            rng = self._r("devices", day.isoformat())
            for p, share in zip(PLATFORMS, (1.0, 0.3, 0.06), strict=True):
                out.append(
                    {
                        "statsDate": day.isoformat(),
                        "platformGroup": p,
                        "numDevicesActive": round(rng.randint(38_000, 42_000) * share * self.scale),
                        "numDevicesNew": round(rng.randint(20, 120) * share * self.scale),
                        "numDevicesDeleted": round(rng.randint(5, 60) * share * self.scale),
                    }
                )
        return out
