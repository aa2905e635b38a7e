"""Deterministic data of a simulated Indigitall tenant, for any date range.

Everything derives from (seed, tenant_id, application_id) and, for day data, the day itself, so a
day holds the same rows whatever window is asked for. Conversations are generated per *local* day
(the tenant's time zone drives volumes and peak hours) and served per *UTC* day (the API filters
`messageDate` / `queuedAt` by UTC date).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import math
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from lib.simulator import texts
from lib.simulator.csvfmt import HEADER_LINE, HISTORY_COLUMNS, format_line

DateLike = date | str
_EPOCH = date(2020, 1, 1)
PLATFORMS = ("android", "ios", "web")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HEATMAP_HOURS = tuple(str(h) for h in range(8, 23))

# Mean history rows per local day (Mon..Sun) at scale 1: ~1,440 a day on average.
_DAY_ROWS = (1650, 1650, 1650, 1650, 1650, 1000, 750)
# Conversation starts per local hour: peaks 10-11h and 14-16h local (15-16h, 19-21h UTC in Bogota).
_HOUR_WEIGHTS = (
    0.2,
    0.1,
    0.1,
    0.1,
    0.1,
    0.3,
    0.8,
    2.0,
    3.5,
    4.5,
    6.5,
    6.5,
    4.5,
    4.0,
    6.0,
    6.5,
    6.0,
    4.5,
    3.5,
    3.0,
    2.5,
    1.8,
    1.0,
    0.5,
)
_HOUR_CUM = tuple(sum(_HOUR_WEIGHTS[: i + 1]) for i in range(24))

P_ESCALATE = 0.30
P_FALLBACK = 0.03
P_TRANSFER = 0.10
P_ABANDONED = 0.02
P_OPEN = 0.01
P_ASSIGNED_BEFORE_QUEUED = 0.015
P_NPS = 0.45

T = TypeVar("T")


def _seed_of(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _rng(*parts: object) -> random.Random:
    return random.Random(_seed_of(*parts))


def as_date(value: DateLike) -> date:
    """`date` or strict "YYYY-MM-DD" -> date (ValueError otherwise)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise ValueError("dates must be YYYY-MM-DD")
    return date.fromisoformat(value)


def _days(date_from: DateLike, date_to: DateLike) -> list[date]:
    start, end = as_date(date_from), as_date(date_to)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def csv_ts(ms: int | None) -> str | None:
    """Epoch ms -> CSV timestamp `2026-03-02T19:52:31+00:00` (truncated to the second)."""
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ms // 1000))


def json_ts(ms: int | None) -> str | None:
    """Epoch ms -> JSON timestamp `2025-05-29T02:01:19.632Z`."""
    if ms is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _strip_accents(s: str) -> str:
    table = str.maketrans("áéíóúÁÉÍÓÚñÑüÜ", "aeiouAEIOUnNuU")
    return s.translate(table)


def _j(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _LRU:
    """A tiny thread-safe LRU cache for generated days/windows."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)
        return value


@dataclass(frozen=True)
class Agent:
    agent_id: int
    name: str
    email: str


@dataclass(frozen=True)
class Contact:
    id: int
    contact_id: str
    profile_name: str | None
    channel: str
    instance_id: int
    created_ms: int
    updated_ms: int
    chat_allowed: bool
    agent_id: int | None


@dataclass
class _Session:
    """An agent session while being generated; rows get its fields once it is closed."""

    session_id: int
    conversation_id: int
    initial_id: int
    contact: Contact
    agent: Agent | None
    queued_ms: int
    assigned_ms: int | None = None
    closed_ms: int | None = None
    close_reason: str | None = None
    rows: list[list[str | None]] = field(default_factory=list)

    def finish(self) -> None:
        fields = (
            str(self.session_id),
            csv_ts(self.queued_ms),
            csv_ts(self.assigned_ms),
            csv_ts(self.closed_ms),
            self.close_reason,
            str(self.agent.agent_id) if self.agent else None,
        )
        for row in self.rows:
            row[14:20] = fields

    def item(self) -> dict[str, Any]:
        return {
            "agentSessionId": self.session_id,
            "conversationSessionId": self.conversation_id,
            "contactId": self.contact.contact_id,
            "agentId": self.agent.agent_id if self.agent else None,
            "email": self.agent.email if self.agent else None,
            "channel": self.contact.channel,
            "queuedAt": json_ts(self.queued_ms),
            "assignedAt": json_ts(self.assigned_ms),
            "closedAt": json_ts(self.closed_ms),
            "initialAgentSession": self.initial_id,
        }


@dataclass
class _Day:
    """Generated rows and sessions of one local day (each row: (ts_ms, messageId, values))."""

    rows: list[tuple[int, int, list[str | None]]]
    sessions: list[tuple[int, dict[str, Any]]]


class _DayBuilder:
    """Generates the conversations of one local day."""

    def __init__(self, ds: Dataset, day: date) -> None:
        self.ds = ds
        self.rng = _rng(ds.seed, ds.tenant_id, ds.application_id, "day", day.isoformat())
        idx = (day - _EPOCH).days
        stride = 3000 * math.ceil(ds.scale)
        self.msg_base = 10_000_000 + idx * stride
        self.msg_cap = stride - 1
        s_stride = 400 * math.ceil(ds.scale)
        self.session_base = 500_000 + idx * s_stride
        self.conv_base = 2_000_000 + idx * s_stride
        self.session_cap = s_stride - 1
        self.n_msg = 0
        self.n_session = 0
        self.n_conv = 0
        self.rows: list[tuple[int, int, list[str | None]]] = []
        self.sessions: list[tuple[int, dict[str, Any]]] = []
        midnight = datetime(day.year, day.month, day.day, tzinfo=ds.tz)
        self.midnight_ms = int(midnight.timestamp()) * 1000
        self.day = day

    # -- rows -------------------------------------------------------------------------------
    def _row(
        self,
        ts: int,
        send_type: str,
        content_type: str,
        content: str,
        contact: Contact,
        integration: str,
        *,
        outbound: bool,
        intent: tuple[str, str] | None = None,
        fallback: bool = False,
    ) -> list[str | None]:
        rng = self.rng
        self.n_msg += 1
        mid = self.msg_base + self.n_msg
        status = status_at = error = sending = None
        ext = None
        if contact.channel == "cloudapi" and send_type != "note":
            raw = f"{contact.contact_id}{rng.getrandbits(96):024X}".encode()
            ext = "wamid." + base64.b64encode(raw).decode()
        if outbound and send_type != "note":
            u = rng.random()
            status = "channel_read" if u < 0.7 else "channel_delivered" if u < 0.92 else "channel_sent"
            status_at = csv_ts(ts + rng.randint(800, 240_000))
            if status == "channel_sent" and u > 0.99:
                error = "131047: Re-engagement message"
            sending = _uuid(rng)
        values: list[str | None] = [
            str(mid),
            csv_ts(ts),
            send_type,
            content_type,
            status,
            status_at,
            ext,
            error,
            content,
            None,
            integration,
            contact.channel,
            contact.profile_name,
            contact.contact_id,
            None,
            None,
            None,
            None,
            None,
            None,
            intent[0] if intent else None,
            intent[1] if intent else None,
            ("Yes" if fallback else "No") if intent else None,
            sending,
        ]
        self.rows.append((ts, mid, values))
        return values

    # -- conversation ------------------------------------------------------------------------
    def build(self) -> _Day:
        rng = self.rng
        weekday = self.day.weekday()
        target = round(_DAY_ROWS[weekday] * rng.uniform(0.85, 1.15) * self.ds.scale)
        if self.midnight_ms + 86_400_000 <= self.ds._created_ms[0]:
            return _Day([], [])  # before the first contact was created
        misses = 0
        while len(self.rows) < target and self.n_msg < self.msg_cap - 200 and misses < 10_000:
            if self.n_session >= self.session_cap - 5:
                break
            before = len(self.rows)
            u = rng.random() * _HOUR_CUM[-1]
            hour = bisect.bisect_left(_HOUR_CUM, u)
            start = self.midnight_ms + (hour * 3600 + rng.randrange(3600)) * 1000 + rng.randrange(1000)
            self._conversation(start)
            misses = misses + 1 if len(self.rows) == before else 0
        self.rows.sort(key=lambda r: (r[0], r[1]))
        self.sessions.sort(key=lambda s: (s[0], s[1]["agentSessionId"]))
        return _Day(self.rows, self.sessions)

    def _conversation(self, t: int) -> None:
        rng, ds = self.rng, self.ds
        contact = ds._pick_contact(rng, t)
        if contact is None:
            return
        self.n_conv += 1
        conv_id = self.conv_base + self.n_conv
        wants_agent = False
        last_interactive = False
        for i in range(rng.choice((1, 1, 2, 2, 3, 3, 4, 5))):
            fallback = rng.random() < P_FALLBACK
            if fallback:
                intent = ds.intent_ids[texts.FALLBACK_INTENT], texts.FALLBACK_INTENT
                ctype, content = "text", rng.choice(texts.UNKNOWN_TEXTS)
            else:
                name, title = rng.choice(texts.DF_INTENTS[1:]) if i else texts.DF_INTENTS[0]
                intent = ds.intent_ids[name], name
                if i == 0:
                    ctype, content = "text", rng.choice(texts.GREETINGS)
                elif last_interactive:
                    ctype, content = "quickReplyEvent", title
                elif rng.random() < 0.04:
                    ctype, content = "image", self._image()
                else:
                    ctype, content = "text", rng.choice(texts.USER_TEXTS)
                wants_agent = wants_agent or name == "[4.1] Hablar con un asesor"
            self._row(
                t, "input", ctype, content, contact, "df", outbound=False, intent=intent, fallback=fallback
            )
            t += rng.randint(600, 4000)
            u = rng.random()
            last_interactive = False
            if fallback:
                self._row(
                    t,
                    "dialogflow",
                    "text",
                    rng.choice(texts.BOT_FALLBACK_TEXTS),
                    contact,
                    "df",
                    outbound=True,
                )
            elif u < 0.4:
                self._row(t, "dialogflow", "interactive", self._menu(), contact, "df", outbound=True)
                last_interactive = True
            elif u < 0.93:
                self._row(t, "dialogflow", "text", rng.choice(texts.BOT_TEXTS), contact, "df", outbound=True)
            else:
                self._row(t, "dialogflow", "image", self._image(), contact, "df", outbound=True)
            t += rng.randint(8_000, 90_000)
        if not (wants_agent or rng.random() < P_ESCALATE):
            return
        first = self._session(t, contact, conv_id, None, None)
        session, depth = first, 0
        while session.close_reason == "AGENT_TRANSFER" and depth < 2 and session.closed_ms is not None:
            depth += 1
            session = self._session(
                session.closed_ms + rng.randint(500, 5000), contact, conv_id, first.session_id, session.agent
            )
        if (
            session.closed_ms is not None
            and session.close_reason == "AGENT_ACTION"
            and (rng.random() < P_NPS)
        ):
            t = session.closed_ms + rng.randint(1000, 5000)
            self._row(t, "dialogflow", "interactive", self._nps_prompt(), contact, "df", outbound=True)
            t += rng.randint(10_000, 120_000)
            self._row(t, "input", "event", self._nps_answer(), contact, "df", outbound=False)

    def _session(
        self, t: int, contact: Contact, conv_id: int, initial: int | None, prev: Agent | None
    ) -> _Session:
        rng, ds = self.rng, self.ds
        self.n_session += 1
        sid = self.session_base + self.n_session
        u = rng.random()
        abandoned = initial is None and u < P_ABANDONED
        is_open = not abandoned and u > 1 - P_OPEN
        agents = [a for a in ds.agents_list if a is not prev]
        agent = None if abandoned else rng.choice(agents)
        s = _Session(sid, conv_id, initial or sid, contact, agent, queued_ms=t)
        note = texts.NOTIFICATION_TEXTS[1 if initial else 0]
        s.rows.append(self._row(t, "agent_notification", "text", note, contact, "agent", outbound=True))
        if abandoned:
            t += rng.randint(30_000, 300_000)
            s.rows.append(
                self._row(t, "input", "text", "¿Hola? ¿Alguien me atiende?", contact, "agent", outbound=False)
            )
            s.closed_ms = t + rng.randint(600_000, 1_800_000)
            s.close_reason = "QUEUE_TIMEOUT"
            s.finish()
            self.sessions.append((s.queued_ms, s.item()))
            return s
        wait = int(min(rng.expovariate(1 / 110_000), 2_400_000)) + rng.randint(2_000, 20_000)
        s.assigned_ms = t + wait
        if rng.random() < P_ASSIGNED_BEFORE_QUEUED:
            s.assigned_ms = t - rng.randint(1_000, 30_000)
        t = max(t, s.assigned_ms) + rng.randint(2_000, 40_000)
        assert agent is not None
        greeting = texts.OPERATOR_TEXTS[0].format(agent=agent.name.split()[0], n="")
        s.rows.append(self._row(t, "operator", "text", greeting, contact, "agent", outbound=True))
        for _ in range(rng.randint(2, 7)):
            t += rng.randint(15_000, 200_000)
            if rng.random() < 0.05:
                s.rows.append(self._row(t, "input", "image", self._image(), contact, "agent", outbound=False))
            else:
                s.rows.append(
                    self._row(
                        t, "input", "text", rng.choice(texts.USER_TEXTS), contact, "agent", outbound=False
                    )
                )
            t += rng.randint(10_000, 180_000)
            text = rng.choice(texts.OPERATOR_TEXTS[1:]).format(agent="", n=rng.randint(10_000, 99_999))
            s.rows.append(self._row(t, "operator", "text", text, contact, "agent", outbound=True))
        if rng.random() < 0.08:
            t += rng.randint(5_000, 60_000)
            note_text = rng.choice(texts.NOTES).format(n=rng.randint(10_000, 99_999))
            s.rows.append(self._row(t, "note", "text", note_text, contact, "agent", outbound=True))
        if is_open:
            s.closed_ms, s.close_reason = None, None
        else:
            s.closed_ms = t + rng.randint(5_000, 300_000)
            v = rng.random()
            if v < P_TRANSFER:
                s.close_reason = "AGENT_TRANSFER"
            elif v < P_TRANSFER + 0.06:
                s.close_reason = "INACTIVITY"
            else:
                s.close_reason = "AGENT_ACTION"
        s.finish()
        self.sessions.append((s.queued_ms, s.item()))
        return s

    # -- contents ----------------------------------------------------------------------------
    def _menu(self) -> str:
        buttons = [{"id": f"MENU_{i + 1}", "title": t} for i, t in enumerate(texts.MENU_TITLES[:3])]
        return _j(
            {
                "type": "button",
                "body": {"text": "¿En qué te podemos ayudar? 👇"},
                "action": {"buttons": buttons},
            }
        )

    def _image(self) -> str:
        rng = self.rng
        caption = rng.choice(texts.IMAGE_CAPTIONS)
        body: dict[str, Any] = {"url": f"https://cdn.indigitall.com/chat/{rng.getrandbits(64):016x}.jpg"}
        if caption:
            body["caption"] = caption
        return _j(body)

    def _nps_prompt(self) -> str:
        return _j(
            {
                "type": "flow",
                "body": {"text": "¿Nos ayudas con una encuesta corta? 🙌"},
                "action": {"name": "flow", "parameters": {"flow_cta": "Responder"}},
            }
        )

    def _nps_answer(self) -> str:
        rng = self.rng
        answers = {q: rng.choice(opts) for q, opts in texts.NPS_QUESTIONS}
        return _j({"eventName": "FLOW_RESPONSE_EVENT", "eventParameters": {"flowResponse": answers}})


class Dataset:
    """The deterministic data of one tenant's application (see the package docstring)."""

    def __init__(
        self,
        seed: int = 42,
        tenant_id: str = "demo",
        timezone: str = "America/Bogota",
        application_id: str = "100274",
        scale: float = 1.0,
        *,
        cache_days: int = 8,
    ) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        self.seed = seed
        self.tenant_id = tenant_id
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.application_id = str(application_id)
        self.scale = scale
        self._local_days = _LRU(cache_days)
        self._utc_days = _LRU(4)
        self._utc_lines = _LRU(cache_days * 2)
        # Sessions are small (~60 a day) and each UTC day needs three generated local days: keep a year.
        self._utc_sessions = _LRU(400)

    def __repr__(self) -> str:
        return (
            f"Dataset(seed={self.seed}, tenant_id={self.tenant_id!r}, timezone={self.timezone!r}, "
            f"application_id={self.application_id!r}, scale={self.scale})"
        )

    def _r(self, *parts: object) -> random.Random:
        return _rng(self.seed, self.tenant_id, self.application_id, *parts)

    # -- dimensions -----------------------------------------------------------------------------
    @cached_property
    def intent_ids(self) -> dict[str, str]:
        rng = self._r("intents")
        names = [n for n, _ in texts.DF_INTENTS] + [texts.FALLBACK_INTENT]
        return {n: _uuid(rng) for n in names}

    @cached_property
    def agents_list(self) -> list[Agent]:
        rng = self._r("agents")
        ids = rng.sample(range(1000, 10000), 15)
        domain = _strip_accents(self.tenant_id.lower()).replace(" ", "") + ".com.co"
        out = []
        for agent_id in ids:
            first, last = rng.choice(texts.FIRST_NAMES), rng.choice(texts.LAST_NAMES)
            email = f"{_strip_accents(first).lower()}.{_strip_accents(last).lower()}{agent_id % 100}@{domain}"
            out.append(Agent(agent_id, f"{first} {last}", email))
        return out

    @cached_property
    def channel_ids(self) -> dict[str, int]:
        rng = self._r("channels")
        base = rng.randint(1000, 9000)
        return {"cloudapi": base, "webchat": base + 1}

    @cached_property
    def contacts_list(self) -> list[Contact]:
        rng = self._r("contacts")
        n = max(50, round(1200 * self.scale))
        created0 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) * 1000
        seen: set[str] = set()
        out: list[Contact] = []
        internal = rng.randint(20_000, 90_000)
        agent_ids = [a.agent_id for a in self.agents_list]
        created_at: list[int] = []
        for _ in range(n):
            internal += rng.randint(1, 7)
            cid = f"573{rng.randint(0, 10**9 - 1):09d}"
            while cid in seen:
                cid = f"573{rng.randint(0, 10**9 - 1):09d}"
            seen.add(cid)
            channel = "webchat" if rng.random() < 0.04 else "cloudapi"
            u = rng.random()
            if u < 0.03:
                name = None
            else:
                name = f"{rng.choice(texts.FIRST_NAMES)} {rng.choice(texts.LAST_NAMES)}"
                if u < 0.25:
                    name = rng.choice(texts.FIRST_NAMES)
                if rng.random() < 0.12:
                    name = f"{name} {rng.choice(texts.NAME_EMOJI)}"
            created = created0 + rng.randrange(300 * 86_400_000)
            updated = created + rng.randrange(200 * 86_400_000)
            created_at.append(created)
            out.append(
                Contact(
                    id=internal,
                    contact_id=cid,
                    profile_name=name,
                    channel=channel,
                    instance_id=self.channel_ids[channel],
                    created_ms=created,
                    updated_ms=updated,
                    chat_allowed=rng.random() < 0.93,
                    agent_id=rng.choice(agent_ids) if rng.random() < 0.3 else None,
                )
            )
        # Internal ids grow with creation: the n-th contact is the n-th created (its updatedAt keeps its
        # offset). Conversations only pick contacts created before they start (`_pick_contact`).
        created_at.sort()
        return [
            replace(c, created_ms=t, updated_ms=t + (c.updated_ms - c.created_ms))
            for c, t in zip(out, created_at, strict=True)
        ]

    @cached_property
    def _created_ms(self) -> list[int]:
        return [c.created_ms for c in self.contacts_list]

    @cached_property
    def _contact_cum(self) -> list[float]:
        rng = self._r("contact-weights")
        weights = [rng.paretovariate(1.6) for _ in self.contacts_list]
        cum, total = [], 0.0
        for w in weights:
            total += w
            cum.append(total)
        return cum

    def _pick_contact(self, rng: random.Random, at_ms: int) -> Contact | None:
        """A contact by weight among those created by `at_ms` (None before the first was created)."""
        cum = self._contact_cum
        k = bisect.bisect_right(self._created_ms, at_ms)
        u = rng.random()
        if k == 0:
            return None
        i = bisect.bisect_left(cum, u * cum[k - 1])
        return self.contacts_list[min(i, k - 1)]

    # -- generated days -------------------------------------------------------------------------
    def _local_day(self, day: date) -> _Day:
        return self._local_days.get(day, lambda: _DayBuilder(self, day).build())

    def _utc_day(self, day: date) -> tuple[list[tuple[int, int, list[str | None]]], list[dict[str, Any]]]:
        def make() -> tuple[list[tuple[int, int, list[str | None]]], list[dict[str, Any]]]:
            start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000
            end = start + 86_400_000
            rows: list[tuple[int, int, list[str | None]]] = []
            sessions: list[tuple[int, dict[str, Any]]] = []
            for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
                gen = self._local_day(d)
                rows.extend(r for r in gen.rows if start <= r[0] < end)
                sessions.extend(s for s in gen.sessions if start <= s[0] < end)
            rows.sort(key=lambda r: (r[0], r[1]))
            sessions.sort(key=lambda s: (s[0], s[1]["agentSessionId"]))
            return rows, [s[1] for s in sessions]

        return self._utc_days.get(day, make)

    def _utc_day_lines(self, day: date) -> list[tuple[str, str]]:
        """(contactId, CSV line) per row of a UTC day (cached)."""
        return self._utc_lines.get(
            day, lambda: [(r[2][13] or "", format_line(r[2])) for r in self._utc_day(day)[0]]
        )

    # -- chat -----------------------------------------------------------------------------------
    def history_rows(
        self, date_from: DateLike, date_to: DateLike, contact_id: str | None = None
    ) -> list[dict[str, str | None]]:
        """History CSV rows (all pages) for the window, keyed by HISTORY_COLUMNS."""
        out = []
        for day in _days(date_from, date_to):
            for _, _, values in self._utc_day(day)[0]:
                if contact_id is None or values[13] == contact_id:
                    out.append(dict(zip(HISTORY_COLUMNS, values, strict=True)))
        return out

    def history_lines(
        self, date_from: DateLike, date_to: DateLike, contact_id: str | None = None
    ) -> list[str]:
        """The CSV records (without header) of the window, in order."""
        out: list[str] = []
        for day in _days(date_from, date_to):
            lines = self._utc_day_lines(day)
            out.extend(line for cid, line in lines if contact_id is None or cid == contact_id)
        return out

    def history_csv(
        self,
        date_from: DateLike,
        date_to: DateLike,
        *,
        limit: int | None = None,
        page: int = 0,
        contact_id: str | None = None,
    ) -> str:
        """The body `/v1/chat/history/csv` returns for this page."""
        lines = self.history_lines(date_from, date_to, contact_id)
        if limit is not None:
            lines = lines[page * limit : (page + 1) * limit]
        return HEADER_LINE + "".join(lines)

    def agent_sessions(self, date_from: DateLike, date_to: DateLike) -> list[dict[str, Any]]:
        """Agent sessions queued (UTC date) within the window, API item shape, by queuedAt."""
        out: list[dict[str, Any]] = []
        for day in _days(date_from, date_to):
            sessions = self._utc_sessions.get(day, lambda d=day: tuple(self._utc_day(d)[1]))
            out.extend(dict(s) for s in sessions)
        return out

    def contacts(self) -> list[dict[str, Any]]:
        """`/v1/chat/contacts` items, ordered by `id` ascending (fresh copies)."""
        return [dict(c) for c in self._contact_items]

    def contacts_page(self, limit: int, page: int = 0, last_id: int | None = None) -> list[dict[str, Any]]:
        """One page of contacts: ids > `last_id` (when given), then the 0-based `page` of `limit`."""
        items = self._contact_items
        start = 0 if last_id is None else bisect.bisect_right(self._contact_ids, last_id)
        start += page * limit
        return [dict(c) for c in items[start : start + limit]]

    @cached_property
    def _contact_ids(self) -> list[int]:
        return [c["id"] for c in self._contact_items]

    @cached_property
    def _contact_items(self) -> tuple[dict[str, Any], ...]:
        rng = self._r("contacts-last-input")
        return tuple(
            {
                "id": c.id,
                "contactId": c.contact_id,
                "externalCode": "",
                "externalId": None,
                "createdAt": json_ts(c.created_ms),
                "updatedAt": json_ts(c.updated_ms),
                "lastInputMessage": json_ts(c.updated_ms - rng.randrange(3_600_000)),
                "channel": c.channel,
                "language": None,
                "profileName": c.profile_name,
                "instanceId": c.instance_id,
                "chatAllowed": c.chat_allowed,
                "agentId": c.agent_id,
            }
            for c in self.contacts_list
        )

    def agents(self) -> list[dict[str, Any]]:
        return [{"agentId": a.agent_id, "email": a.email, "name": a.name} for a in self.agents_list]

    def agent_status(self) -> dict[str, int]:
        return {"activeAgents": self._r("active").randint(3, 8)}

    def channels(self) -> list[dict[str, Any]]:
        ids = self.channel_ids
        phone = f"+57 601 {self._r('phone').randint(1000000, 9999999)}"
        return [
            {
                "id": ids["cloudapi"],
                "type": "cloudapi",
                "name": f"WhatsApp {self.tenant_id}",
                "phoneNumber": phone,
                "status": "active",
            },
            {
                "id": ids["webchat"],
                "type": "webchat",
                "name": "Webchat sitio web",
                "phoneNumber": None,
                "status": "active",
            },
        ]

    def topics(self) -> list[dict[str, Any]]:
        return [
            {"id": i + 1, "name": name, "description": desc, "isActive": i != 3}
            for i, (name, desc) in enumerate(texts.TOPICS)
        ]

    def configuration(self) -> dict[str, Any]:
        return {
            "applicationId": int(self.application_id)
            if self.application_id.isdigit()
            else self.application_id,
            "timezone": self.timezone,
            "welcomeMessage": "¡Hola! Soy el asistente virtual 🤖",
            "maxConversationsPerAgent": 5,
            "inactivityTimeoutMinutes": 30,
            "queueTimeoutMinutes": 30,
            "npsEnabled": True,
            "businessHours": {"monday-friday": "08:00-18:00", "saturday": "08:00-12:00"},
        }

    def integrations(self) -> list[dict[str, Any]]:
        return [
            {
                "id": 1,
                "type": "dialogflow",
                "name": "Dialogflow ES",
                "projectId": f"bot-{self.tenant_id}-prod",
                "enabled": True,
            },
            {"id": 2, "type": "agent", "name": "Agentes inDigitall", "enabled": True},
        ]

    # -- applications ---------------------------------------------------------------------------
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

    # -- push -----------------------------------------------------------------------------------
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

    # -- campaigns ------------------------------------------------------------------------------
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

    # -- sms ------------------------------------------------------------------------------------
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
