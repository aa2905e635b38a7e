"""Chat of the simulated tenant: conversations generated per local day and served per UTC day
(history, agent sessions), agents, channels, configuration."""

from __future__ import annotations

import base64
import bisect
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from lib.simulator import texts
from lib.simulator.csvfmt import HEADER_LINE, HISTORY_COLUMNS, format_line
from lib.simulator.data._common import (
    _DAY_ROWS,
    _EPOCH,
    _HOUR_CUM,
    P_ABANDONED,
    P_ASSIGNED_BEFORE_QUEUED,
    P_ESCALATE,
    P_FALLBACK,
    P_NPS,
    P_OPEN,
    P_TRANSFER,
    Agent,
    Contact,
    DateLike,
    _days,
    _j,
    _rng,
    _uuid,
    csv_ts,
    json_ts,
)
from lib.simulator.data.contacts import ContactsData


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

    def __init__(self, ds: ChatData, day: date) -> None:
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


class ChatData(ContactsData):
    """The chat endpoints (`/v1/chat/...`)."""

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

    def _utc_day_lines(self, day: date) -> list[tuple[str, str, int]]:
        """(contactId, CSV line, messageDate ms) per row of a UTC day (cached)."""
        return self._utc_lines.get(
            day, lambda: [(r[2][13] or "", format_line(r[2]), r[0]) for r in self._utc_day(day)[0]]
        )

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
        self,
        date_from: DateLike,
        date_to: DateLike,
        contact_id: str | None = None,
        until_ms: int | None = None,
    ) -> list[str]:
        """The CSV records (without header) of the window, in order; only messages up to `until_ms`."""
        out: list[str] = []
        for day in _days(date_from, date_to):
            lines = self._utc_day_lines(day)
            out.extend(
                line
                for cid, line, ts in lines
                if (contact_id is None or cid == contact_id) and (until_ms is None or ts <= until_ms)
            )
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

    def _utc_sessions_of(self, day: date) -> tuple[dict[str, Any], ...]:
        return tuple(self._utc_day(day)[1])

    def agent_sessions(
        self, date_from: DateLike, date_to: DateLike, until: str | None = None
    ) -> list[dict[str, Any]]:
        """Agent sessions queued (UTC date) within the window, API item shape, by queuedAt; only those
        queued up to `until` (a `json_ts` string, which sorts like the instant) when given."""
        out: list[dict[str, Any]] = []
        for day in _days(date_from, date_to):
            sessions = self._utc_sessions.get(day, partial(self._utc_sessions_of, day))
            out.extend(dict(s) for s in sessions if until is None or (s["queuedAt"] or "") <= until)
        return out

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
